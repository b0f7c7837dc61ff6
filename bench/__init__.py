"""`make bench`: plan time, requests and peak memory on simulated tenants of 100, 1,000 and 10,000 rooms."""
