"""No HTTP pages: the reference only speaks WebSocket."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
