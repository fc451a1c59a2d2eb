"""Page routes (docs/web.md): the account pages, the channel list, the rooms."""

from allauth.account import views as allauth_views
from django.urls import path

from integrations import views as integration_views
from web import account_views, views

app_name = "web"

urlpatterns = [
    path("accounts/login/", account_views.LoginView.as_view(), name="login"),
    path("accounts/signup/", account_views.SignupView.as_view(), name="signup"),
    path("accounts/logout/", allauth_views.logout, name="logout"),
    path("accounts/invite/<str:token>/", account_views.invitation, name="invitation"),
    path("accounts/claim/", integration_views.claim_request, name="claim_request"),
    path(
        "accounts/claim/<str:uidb64>/<str:token>/",
        integration_views.claim_confirm,
        name="claim_confirm",
    ),
    path("accounts/profile/", account_views.profile, name="profile"),
    path("accounts/profile/export/", account_views.profile_export, name="profile_export"),
    path("accounts/logout-everywhere/", account_views.logout_everywhere, name="logout_everywhere"),
    path("", views.channel_list, name="channel_list"),
    path("channels/new/", views.channel_create, name="channel_create"),
    path("channels/<str:name>/", views.room, name="room"),
    path("channels/<str:name>/join/", views.channel_join, name="channel_join"),
    path(
        "channels/<str:name>/notifications/",
        views.channel_notifications,
        name="channel_notifications",
    ),
    path("mentions/", views.mentions, name="mentions"),
    path("search/", views.search, name="search"),
]
