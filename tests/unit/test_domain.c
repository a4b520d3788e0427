#include "autoconfig.h"
#include "unit.h"
int main(void) { return unit_summary("domain"); }
