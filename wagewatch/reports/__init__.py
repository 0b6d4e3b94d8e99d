"""Weekly and monthly reports (周调度、月通报): an XLSX 情况表 and a Word circular, per city and for the province."""
