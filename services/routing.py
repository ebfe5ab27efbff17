from django.urls import path

from services.consumers import ServiceEventsConsumer

websocket_urlpatterns = [
    path("ws/services/<str:region>/<str:name>/events", ServiceEventsConsumer.as_asgi()),
]
