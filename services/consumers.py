"""Websocket stream of a service's deployment events: history first, then live lines."""
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from console.iam.accounts import account_of
from services.events import events_group, serialize_event
from services.models import Service

CLOSE_NOT_FOUND = 4404


class ServiceEventsConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        kwargs = self.scope["url_route"]["kwargs"]
        self.service = await self.find_service(kwargs["region"], kwargs["name"])
        if self.service is None:
            # Unknown, or another tenant's: both answer the same way, with a code clients can read.
            await self.accept()
            await self.close(code=CLOSE_NOT_FOUND)
            return
        self.group = events_group(self.service)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        for event in await self.history():
            await self.send_json(event)

    async def disconnect(self, code):
        if getattr(self, "group", None):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def deployment_event(self, message):
        await self.send_json(message["event"])

    @database_sync_to_async
    def find_service(self, region: str, name: str):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            return None
        account = account_of(user)
        return Service.objects.filter(account=account, region=region, name=name).first()

    @database_sync_to_async
    def history(self) -> list[dict]:
        return [serialize_event(e) for e in self.service.events.all()]
