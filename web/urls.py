"""Page routes (docs/web.md): sign-up, log-in and log-out, the channel list, the rooms."""

from django.contrib.auth import views as auth_views
from django.urls import path

from web import views

app_name = "web"

urlpatterns = [
    path("accounts/login/", views.RateLimitedLoginView.as_view(), name="login"),
    path("accounts/signup/", views.signup, name="signup"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", views.channel_list, name="channel_list"),
    path("channels/new/", views.channel_create, name="channel_create"),
    path("channels/<str:name>/", views.room, name="room"),
    path("channels/<str:name>/join/", views.channel_join, name="channel_join"),
    path("search/", views.search, name="search"),
]
