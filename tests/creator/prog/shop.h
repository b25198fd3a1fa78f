/* shop.h - the Creator's test program: prices, a store of sales, a tick loop. */
#ifndef SHOP_H
#define SHOP_H

struct stats {
	long sales;
	long units;
	long pad[40];
	long refunds;		/* far into the struct: addressed as stats+0x150(%rip) */
};

extern struct stats stats;

int price(int n);
int total(int n);
int discount(int n);
void record(int units);
long sold(void);
long refunds(void);
int store_scale(int x);
int limit_of(void);
void set_limit(int v);
int where(void);
int visits(void);
int rate(int i);

#endif
