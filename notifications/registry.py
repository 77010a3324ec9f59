"""Which channel object serves each channel kind."""

from __future__ import annotations

from notifications.base import Channel, ChannelKind


class ChannelRegistry:
    def __init__(self, channels: dict[ChannelKind, Channel] | None = None) -> None:
        self._channels: dict[ChannelKind, Channel] = dict(channels or {})

    def register(self, channel: Channel) -> None:
        self._channels[ChannelKind(channel.kind)] = channel

    def get(self, kind: ChannelKind | str) -> Channel | None:
        return self._channels.get(ChannelKind(kind))

    def kinds(self) -> list[ChannelKind]:
        return list(self._channels)

    @classmethod
    def console_default(cls) -> ChannelRegistry:
        """Every kind printed on standard output: `make run` works offline, nothing configured."""
        from notifications.console import ConsoleChannel

        return cls({kind: ConsoleChannel(kind) for kind in ChannelKind})
