"""Region failover: planned switchover, unplanned failover with fencing, and failback, on the lab and on AWS."""
