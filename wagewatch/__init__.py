"""WageWatch (欠薪舆情哨兵): watch public posts for unpaid-wage incidents and alert the responsible officials."""

__version__ = "0.1.0"
