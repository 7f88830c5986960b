"""Regulatory filing: PBoC large-value (BH) and suspicious (BS) transaction report files, the
centre's receipts, and working-day deadlines. Not on the data path of the customer stage."""
