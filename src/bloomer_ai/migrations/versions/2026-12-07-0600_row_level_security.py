"""row-level security per shop

Every shop-owned table gets row-level security, enabled and forced, with one policy for
everyone (``shop_isolation``: the row's shop is the transaction's ``app.shop_id``) and one
for the tables' owner (``operator_access``: operator commands and the functions below act
across shops). ``shops`` is isolated by its own id.

Lookups that must happen before a shop is known (an API key by its prefix, a NextAuth
session by its token, a user and their memberships) are SECURITY DEFINER functions owned
by the owner, with a fixed search_path and EXECUTE only for the service's role; the
trigger that bumps a shop's routing version runs as the owner too. Changes that cached
principals depend on (a key revoked, a membership changed, a user disabled, a session
deleted) are announced on the channel ``auth_changes``.

The service's role (DB_APP_ROLE) is granted its rights here when it exists
(``db.roles.grant_app_role``, run again after every upgrade).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 06:00:00
"""

from collections.abc import Sequence

from alembic import context, op

from bloomer_ai.db.roles import grant_app_role, shop_isolation, shop_isolation_removed

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SHOP_OWNED = (
    "customers",
    "orders",
    "order_items",
    "api_keys",
    "shop_members",
    "agent_conversations",
    "agent_messages",
    "order_routing_rules",
    "routing_rule_set_versions",
    "webhook_deliveries",
)

FUNCTIONS = """
CREATE FUNCTION auth_api_key(p_prefix text)
RETURNS TABLE (id uuid, shop_id uuid, shop_name text, name text, key_hash bytea,
               scopes text[], expires_at timestamptz, revoked_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    SELECT k.id, k.shop_id, s.name::text, k.name::text, k.key_hash, k.scopes::text[],
           k.expires_at, k.revoked_at
    FROM public.api_keys k JOIN public.shops s ON s.id = k.shop_id
    WHERE k.prefix = p_prefix
$$;

CREATE FUNCTION auth_touch_api_key(p_key_id uuid) RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    UPDATE public.api_keys SET last_used_at = now()
    WHERE id = p_key_id AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')
$$;

CREATE FUNCTION auth_session(p_token text)
RETURNS TABLE (user_id uuid, expires timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    SELECT s.user_id, s.expires FROM public.sessions s WHERE s.session_token = p_token
$$;

CREATE FUNCTION auth_user(p_id uuid, p_external_id text)
RETURNS TABLE (id uuid, email text, disabled_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    SELECT u.id, u.email::text, u.disabled_at FROM public.users u
    WHERE (p_id IS NOT NULL AND u.id = p_id)
       OR (p_id IS NULL AND u.external_id = p_external_id)
$$;

CREATE FUNCTION auth_memberships(p_user_id uuid)
RETURNS TABLE (shop_id uuid, role text, shop_name text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    SELECT m.shop_id, m.role::text, s.name::text
    FROM public.shop_members m JOIN public.shops s ON s.id = m.shop_id
    WHERE m.user_id = p_user_id
$$;

CREATE FUNCTION announce_auth_change() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    subject text;
BEGIN
    IF TG_TABLE_NAME = 'api_keys' THEN
        subject := 'key:' || (CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END)::text;
    ELSIF TG_TABLE_NAME = 'shop_members' THEN
        IF TG_OP <> 'INSERT' THEN
            PERFORM pg_notify('auth_changes', 'user:' || OLD.user_id::text);
        END IF;
        IF TG_OP = 'DELETE' THEN
            RETURN NULL;
        END IF;
        subject := 'user:' || NEW.user_id::text;
    ELSIF TG_TABLE_NAME = 'users' THEN
        subject := 'user:' || (CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END)::text;
    ELSE
        subject := 'session:' || encode(sha256(convert_to(
            CASE WHEN TG_OP = 'DELETE' THEN OLD.session_token ELSE NEW.session_token END,
            'UTF8')), 'hex');
    END IF;
    -- Delivered at commit to every listening process; never for a rolled-back change.
    PERFORM pg_notify('auth_changes', subject);
    RETURN NULL;
END
$$;

CREATE TRIGGER api_keys_announce AFTER UPDATE OF revoked_at, expires_at, scopes OR DELETE
ON api_keys FOR EACH ROW EXECUTE FUNCTION announce_auth_change();
CREATE TRIGGER shop_members_announce AFTER INSERT OR UPDATE OR DELETE
ON shop_members FOR EACH ROW EXECUTE FUNCTION announce_auth_change();
CREATE TRIGGER users_announce AFTER UPDATE OF disabled_at, external_id OR DELETE
ON users FOR EACH ROW EXECUTE FUNCTION announce_auth_change();
CREATE TRIGGER sessions_announce AFTER UPDATE OF expires OR DELETE
ON sessions FOR EACH ROW EXECUTE FUNCTION announce_auth_change();

-- The routing version of a shop is shop-owned; its trigger on shops writes it as the owner.
ALTER FUNCTION bump_routing_version_of_shop() SECURITY DEFINER SET search_path = pg_catalog, public;
"""

DEFINER_FUNCTIONS = (
    "auth_api_key(text)",
    "auth_touch_api_key(uuid)",
    "auth_session(text)",
    "auth_user(uuid, text)",
    "auth_memberships(uuid)",
)


def upgrade() -> None:
    for table in SHOP_OWNED:
        _isolate(table, "shop_id")
    _isolate("shops", "id")
    op.execute(FUNCTIONS)
    for function in DEFINER_FUNCTIONS:
        op.execute(f"REVOKE ALL ON FUNCTION {function} FROM PUBLIC")
    role = context.config.attributes.get("app_role")
    if role:
        grant_app_role(op.get_bind(), role)


def _isolate(table: str, column: str) -> None:
    for statement in shop_isolation(table, column):
        op.execute(statement)


def downgrade() -> None:
    op.execute("ALTER FUNCTION bump_routing_version_of_shop() SECURITY INVOKER RESET search_path")
    for trigger, table in (
        ("api_keys_announce", "api_keys"),
        ("shop_members_announce", "shop_members"),
        ("users_announce", "users"),
        ("sessions_announce", "sessions"),
    ):
        op.execute(f"DROP TRIGGER {trigger} ON {table}")
    op.execute("DROP FUNCTION announce_auth_change()")
    for function in DEFINER_FUNCTIONS:
        op.execute(f"DROP FUNCTION {function}")
    for table in (*SHOP_OWNED, "shops"):
        for statement in shop_isolation_removed(table):
            op.execute(statement)
