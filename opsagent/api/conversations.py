"""Server-side chat conversations: the history lives in the database, so any replica can continue one."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

from pydantic import BaseModel
from sqlalchemy import Engine, insert, select, update

from opsagent.incidents.db import begin_write, read_only
from opsagent.incidents.records import IsoTime
from opsagent.incidents.tables import chat_messages, conversations

MAX_HISTORY_MESSAGES = 40  # the model sees the recent turns; older ones stay stored for the record


class ChatMessage(BaseModel):
    """One turn."""

    role: str
    content: str
    sources: list[str] = []
    created_at: IsoTime


class Conversation(BaseModel):
    """A conversation and its messages."""

    id: str
    title: str
    created_at: IsoTime
    updated_at: IsoTime
    messages: list[ChatMessage] = []


class ConversationNotFound(LookupError):
    """No conversation with that id (for this token)."""


class ConversationStore:
    """Create conversations, append turns, read history. A conversation belongs to the token that made it."""

    def __init__(self, engine: Engine, clock: Callable[[], float] = time.time) -> None:
        self.engine = engine
        self.clock = clock

    def create(self, token_id: int | None, title: str) -> str:
        """A new conversation id."""
        conversation_id = str(uuid.uuid4())
        now = self.clock()
        with begin_write(self.engine) as connection:
            connection.execute(
                insert(conversations).values(
                    id=conversation_id,
                    token_id=token_id,
                    title=(title.strip() or "conversation")[:200],
                    created_at=now,
                    updated_at=now,
                )
            )
        return conversation_id

    def get(self, conversation_id: str, token_id: int | None, *, limit: int | None = None) -> Conversation:
        """The conversation with its last `limit` messages (all when None)."""
        with read_only(self.engine) as connection:
            row = (
                connection.execute(select(conversations).where(conversations.c.id == conversation_id))
                .mappings()
                .first()
            )
            if row is None or row["token_id"] != token_id:
                raise ConversationNotFound(conversation_id)
            query = (
                select(chat_messages)
                .where(chat_messages.c.conversation_id == conversation_id)
                .order_by(chat_messages.c.id.desc())
            )
            if limit is not None:
                query = query.limit(limit)
            messages = [
                ChatMessage(
                    role=m["role"],
                    content=m["content"],
                    sources=m["sources"] or [],
                    created_at=m["created_at"],
                )
                for m in connection.execute(query).mappings()
            ]
        messages.reverse()
        return Conversation(
            id=row["id"],
            title=row["title"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            messages=messages,
        )

    def append(self, conversation_id: str, role: str, content: str, sources: list[str] | None = None) -> None:
        """Add a turn."""
        now = self.clock()
        with begin_write(self.engine) as connection:
            connection.execute(
                insert(chat_messages).values(
                    conversation_id=conversation_id,
                    role=role,
                    content=content,
                    sources=sources,
                    created_at=now,
                )
            )
            connection.execute(
                update(conversations).where(conversations.c.id == conversation_id).values(updated_at=now)
            )
