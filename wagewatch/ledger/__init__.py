"""The ledger (台账): leads, their officers and deadlines, every change audited, and the officers' link tokens."""
