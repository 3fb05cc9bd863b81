"""outbound webhook endpoints' signing secrets sealed at rest

``webhook_endpoints.secret`` and ``previous_secret`` held the ``whsec_…`` secrets as they
are; they become one sealed value (``secrets_key_id``, ``secrets_ciphertext``: AES-256-GCM
under the DATA_ENCRYPTION_KEY keyring, bound to the row), as integration secrets are.
Rows already there are sealed here with the keyring of this process's settings (the
service's own DATA_ENCRYPTION_KEY); the downgrade opens them again.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 13:50:00
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from bloomer_ai.kit.encryption import Keyring, Sealed

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _keyring() -> Keyring:
    from bloomer_ai.config import load_settings

    return load_settings().auth.keyring()


def upgrade() -> None:
    from bloomer_ai.outbound_webhooks.delivery.secrets import seal_secrets

    op.add_column("webhook_endpoints", sa.Column("secrets_key_id", sa.String(32), nullable=True))
    op.add_column(
        "webhook_endpoints", sa.Column("secrets_ciphertext", sa.LargeBinary(), nullable=True)
    )
    connection = op.get_bind()
    rows = connection.execute(
        sa.text("SELECT shop_id, id, secret, previous_secret FROM webhook_endpoints")
    ).all()
    keyring = _keyring() if rows else Keyring.development()
    for shop_id, endpoint_id, secret, previous in rows:
        key_id, ciphertext = seal_secrets(
            shop_id, endpoint_id, keyring, current=secret, previous=previous
        )
        connection.execute(
            sa.text(
                "UPDATE webhook_endpoints SET secrets_key_id = :key_id, "
                "secrets_ciphertext = :ciphertext WHERE shop_id = :shop_id AND id = :id"
            ),
            {"key_id": key_id, "ciphertext": ciphertext, "shop_id": shop_id, "id": endpoint_id},
        )
    op.alter_column("webhook_endpoints", "secrets_key_id", nullable=False)
    op.alter_column("webhook_endpoints", "secrets_ciphertext", nullable=False)
    op.drop_column("webhook_endpoints", "previous_secret")
    op.drop_column("webhook_endpoints", "secret")


def downgrade() -> None:
    from bloomer_ai.outbound_webhooks.delivery.secrets import associated_data

    op.add_column("webhook_endpoints", sa.Column("secret", sa.String(100), nullable=True))
    op.add_column("webhook_endpoints", sa.Column("previous_secret", sa.String(100), nullable=True))
    connection = op.get_bind()
    rows = connection.execute(
        sa.text("SELECT shop_id, id, secrets_key_id, secrets_ciphertext FROM webhook_endpoints")
    ).all()
    keyring = _keyring() if rows else Keyring.development()
    for shop_id, endpoint_id, key_id, ciphertext in rows:
        opened = json.loads(
            keyring.open(Sealed(key_id, bytes(ciphertext)), associated_data(shop_id, endpoint_id))
        )
        connection.execute(
            sa.text(
                "UPDATE webhook_endpoints SET secret = :secret, previous_secret = :previous "
                "WHERE shop_id = :shop_id AND id = :id"
            ),
            {
                "secret": opened["current"],
                "previous": opened.get("previous"),
                "shop_id": shop_id,
                "id": endpoint_id,
            },
        )
    op.alter_column("webhook_endpoints", "secret", nullable=False)
    op.drop_column("webhook_endpoints", "secrets_ciphertext")
    op.drop_column("webhook_endpoints", "secrets_key_id")
