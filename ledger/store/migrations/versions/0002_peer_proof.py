"""peer proofs: Merkle proofs of other nodes' leaves, checked against anchored roots

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('peer_proof',
    sa.Column('leaf', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('department', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('root', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('leaf_index', sa.Integer(), nullable=False),
    sa.Column('proof', sa.Text(), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=512), nullable=False),
    sa.Column('fetched_at', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('leaf')
    )
    with op.batch_alter_table('peer_proof', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_peer_proof_root'), ['root'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('peer_proof', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_peer_proof_root'))
    op.drop_table('peer_proof')
