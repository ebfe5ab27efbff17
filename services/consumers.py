"""Websocket stream of a service's deployment events: history first, then live lines."""
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from console.iam.authz import is_allowed, principal_for_user, service_arn
from console.iam.errors import Unauthorized
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
        try:
            principal = principal_for_user(self.scope.get("user"))
        except Unauthorized:
            return None
        service = Service.objects.filter(account=principal.account, region=region, name=name).first()
        if service is None or not is_allowed(principal, "DescribeServiceEvent", service_arn(
                principal.account, service.name, service.region)):
            return None
        return service

    @database_sync_to_async
    def history(self) -> list[dict]:
        return [serialize_event(e) for e in self.service.events.all()]
