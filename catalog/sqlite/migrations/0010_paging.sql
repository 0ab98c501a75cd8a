-- Keyset paging of subscriptions (ListSubscriptionsPage): the listing's
-- order (created_at, id), alone and after each filter the admin API and
-- the admin UI offer, so a page reads its rows in index order instead of
-- sorting the whole table.
CREATE INDEX subscriptions_created ON subscriptions (created_at, id);
CREATE INDEX subscriptions_user_created ON subscriptions (user_id, created_at, id);
CREATE INDEX subscriptions_product_created ON subscriptions (product_id, created_at, id);
CREATE INDEX subscriptions_api_created ON subscriptions (api_id, created_at, id);
CREATE INDEX subscriptions_state_created ON subscriptions (state, created_at, id);
