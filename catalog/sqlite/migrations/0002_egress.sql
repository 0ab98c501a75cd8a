-- Egress allow-list per API (abi/egress entries: CIDRs, addresses,
-- host[:port], *.domain), as a JSON array; '' when none.
ALTER TABLE apis ADD COLUMN egress_allow TEXT NOT NULL DEFAULT '';
