"""/api/auth/: JWT tokens, registration, invitations, the password, signing out everywhere
and the current user."""

from __future__ import annotations

import time
import unicodedata
from collections.abc import Mapping
from typing import Any

from allauth.account.utils import has_verified_email, setup_user_email
from allauth.core import context as allauth_context
from django.conf import settings
from django.contrib.auth import update_session_auth_hash
from django.db import transaction
from django.urls import reverse
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.exceptions import PermissionDenied as DRFPermissionDenied
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt import serializers as jwt_serializers
from rest_framework_simplejwt import views as jwt_views
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.tokens import RefreshToken

from accounts import services
from accounts.authentication import check_token_still_valid
from accounts.models import User
from accounts.roles import acting_user
from chat.exceptions import ValidationError as ChatValidationError
from chatsite.api_errors import error_responses
from chatsite.ratelimit import AuthRateThrottle

SIGNUP_CLOSED = "Sign-up is closed: ask an admin for an account."

# --- Serializers --------------------------------------------------------------------------


class TokenRefreshSerializer(jwt_serializers.TokenRefreshSerializer):
    """simplejwt's, but a token of a user deleted since answers 401 instead of failing, and a
    token issued before the user's ``tokens_valid_after`` is refused (401)."""

    def validate(self, attrs: dict[str, Any]) -> dict[str, str]:
        refresh = self.token_class(attrs["refresh"])
        user_id = refresh.payload.get(jwt_settings.USER_ID_CLAIM)
        user = User.objects.filter(pk=user_id).first() if user_id is not None else None
        if user is not None:
            check_token_still_valid(user, refresh)
        try:
            return super().validate(attrs)
        except User.DoesNotExist:
            raise AuthenticationFailed(
                "No active account found for the given token.", code="no_active_account"
            ) from None


class TokenObtainPairSerializer(jwt_serializers.TokenObtainPairSerializer):
    """simplejwt's; with CHAT_REQUIRE_EMAIL_VERIFICATION=1 an account whose email is not
    verified yet gets no tokens (401 ``email_unverified``), as the login page refuses it."""

    def validate(self, attrs: dict[str, Any]) -> dict[str, str]:
        data = super().validate(attrs)
        if settings.CHAT_REQUIRE_EMAIL_VERIFICATION and not has_verified_email(self.user):
            raise AuthenticationFailed(
                "Verify your email address first: follow the link in the mail we sent.",
                code="email_unverified",
            )
        return data


class RegisterSerializer(serializers.Serializer):
    id = serializers.CharField(read_only=True)
    username = serializers.CharField(
        max_length=150, validators=list(User._meta.get_field("username").validators)
    )
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(write_only=True, max_length=128, trim_whitespace=False)
    invitation = serializers.CharField(
        write_only=True,
        required=False,
        max_length=200,
        help_text="The token of an invitation link; required while CHAT_SIGNUP is `invite`.",
    )

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        # Strings only, as the schema says (DRF's CharField turns a number into text).
        if isinstance(data, Mapping):
            names = ("username", "email", "password", "invitation")
            wrong = [name for name in names if name in data]
            wrong = [name for name in wrong if not isinstance(data[name], str)]
            if wrong:
                raise serializers.ValidationError({name: ["Must be a string."] for name in wrong})
        return super().to_internal_value(data)

    def validate_email(self, value: str) -> str:
        return str(User.objects.normalize_email(unicodedata.normalize("NFC", value)))

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        token = attrs.get("invitation")
        if settings.CHAT_SIGNUP == "invite":
            if not token:
                message = "Sign-up is by invitation: give the token of your invitation link."
                raise serializers.ValidationError({"invitation": [message]})
            try:
                invitation = services.invitation_get_usable(token=token)
            except services.InvitationUnusable as exc:
                raise serializers.ValidationError({"invitation": [exc.detail]}) from None
            wanted = invitation.email
            if wanted and attrs["email"].casefold() != wanted.casefold():
                message = "This invitation is for another email address."
                raise serializers.ValidationError({"email": [message]})
        problems = services.user_registration_problems(
            username=attrs["username"], email=attrs["email"], password=attrs["password"]
        )
        if problems:
            raise serializers.ValidationError(problems)
        return attrs

    def create(self, validated_data: dict[str, Any]) -> User:
        token = validated_data.pop("invitation", None)
        try:
            if settings.CHAT_SIGNUP == "invite" and token:
                services.invitation_redeem(token=token)
            return services.user_register(**validated_data)
        except services.InvitationUnusable as exc:
            raise serializers.ValidationError({"invitation": [exc.detail]}) from None
        except ChatValidationError as exc:
            raise serializers.ValidationError(exc.fields) from None

    def to_representation(self, instance: User) -> dict[str, Any]:
        return {"id": str(instance.pk), "username": instance.username, "email": instance.email}


class MeUpdateSerializer(serializers.Serializer):
    display_name = serializers.CharField(
        max_length=services.DISPLAY_NAME_MAX, allow_blank=True, trim_whitespace=False
    )

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if isinstance(data, Mapping) and not isinstance(data.get("display_name", ""), str):
            raise serializers.ValidationError({"display_name": ["Must be a string."]})
        return super().to_internal_value(data)

    def validate_display_name(self, value: str) -> str:
        try:
            return services.clean_display_name(value)
        except ChatValidationError as exc:
            raise serializers.ValidationError(exc.fields["display_name"]) from None


class PasswordChangeSerializer(serializers.Serializer):
    current_password = serializers.CharField(max_length=128, trim_whitespace=False)
    new_password = serializers.CharField(max_length=128, trim_whitespace=False)


class InvitationCreateSerializer(serializers.Serializer):
    expires_at = serializers.DateTimeField(
        required=False, help_text="When the link stops working (default: in CHAT_INVITE_DAYS)."
    )
    max_uses = serializers.IntegerField(
        required=False,
        default=1,
        min_value=1,
        max_value=services.INVITATION_MAX_USES,
        help_text="How many accounts the link can make.",
    )
    email = serializers.EmailField(
        required=False, allow_blank=True, max_length=254, help_text="Only this address may use it."
    )


class InvitationSerializer(serializers.Serializer):
    id = serializers.CharField()
    url = serializers.CharField(help_text="The sign-up link; shown only now.")
    token = serializers.CharField(help_text="The link's token (for /api/auth/register/).")
    expires_at = serializers.DateTimeField()
    max_uses = serializers.IntegerField()
    uses = serializers.IntegerField()
    email = serializers.CharField()


class MeSerializer(serializers.Serializer):
    id = serializers.CharField()
    username = serializers.CharField()
    email = serializers.CharField()
    display_name = serializers.CharField()
    role = serializers.ChoiceField(choices=User.Role.choices)


# --- Views --------------------------------------------------------------------------------

_TOKEN_PAIR = inline_serializer(
    "TokenPair", {"access": serializers.CharField(), "refresh": serializers.CharField()}
)


@extend_schema(
    tags=["auth"],
    summary="Obtain an access and a refresh token",
    responses={200: _TOKEN_PAIR, **error_responses(400, 401, 429)},
)
class TokenObtainView(jwt_views.TokenObtainPairView):
    serializer_class = TokenObtainPairSerializer
    throttle_classes = [AuthRateThrottle]


@extend_schema(
    tags=["auth"],
    summary="Trade a refresh token for a new pair (the old refresh token is blacklisted)",
    responses={200: _TOKEN_PAIR, **error_responses(400, 401, 429)},
)
class TokenRefreshView(jwt_views.TokenRefreshView):
    serializer_class = TokenRefreshSerializer
    throttle_classes = [AuthRateThrottle]


class RegisterView(APIView):
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes = [AuthRateThrottle]

    @extend_schema(
        tags=["auth"],
        summary="Create an account",
        request=RegisterSerializer,
        responses={201: RegisterSerializer, **error_responses(400, 403, 429)},
    )
    def post(self, request: Request) -> Response:
        if settings.CHAT_SIGNUP == "closed":
            raise DRFPermissionDenied(SIGNUP_CLOSED)
        serializer = RegisterSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = serializer.save()
        # The address to verify, as the sign-up page records it; the mail goes out at commit.
        django_request = request._request
        address = setup_user_email(django_request, user, [])
        if address is not None:

            def send() -> None:
                with allauth_context.request_context(django_request):
                    address.send_confirmation(django_request, signup=True)

            transaction.on_commit(send)
        return Response(serializer.data, status=status.HTTP_201_CREATED)


class MeView(APIView):
    @extend_schema(
        tags=["auth"],
        summary="The signed-in user",
        responses={200: MeSerializer, **error_responses(401)},
    )
    def get(self, request: Request) -> Response:
        return Response(MeSerializer(request.user).data)

    @extend_schema(
        tags=["auth"],
        summary="Change the signed-in user's display name",
        request=MeUpdateSerializer,
        responses={200: MeSerializer, **error_responses(400, 401, 429)},
    )
    def patch(self, request: Request) -> Response:
        serializer = MeUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = services.user_update_profile(
            user=acting_user(request), display_name=serializer.validated_data["display_name"]
        )
        return Response(MeSerializer(user).data)


def _new_tokens(user: User) -> dict[str, str]:
    refresh = RefreshToken.for_user(user)
    return {"access": str(refresh.access_token), "refresh": str(refresh)}


class PasswordChangeView(APIView):
    throttle_classes = [AuthRateThrottle]

    @extend_schema(
        tags=["auth"],
        summary="Change your password; every earlier session, token and socket ends",
        description="Answers a new token pair: the tokens used so far stop working.",
        request=PasswordChangeSerializer,
        responses={200: _TOKEN_PAIR, **error_responses(400, 401, 429)},
    )
    def post(self, request: Request) -> Response:
        serializer = PasswordChangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = services.user_change_password(user=acting_user(request), **serializer.validated_data)
        if request.auth is None:  # a browser session: it stays signed in
            update_session_auth_hash(request._request, user)
        # Tokens count whole seconds and the cut-off refuses every token of its second
        # (accounts.services.revoke_tokens): mint the new pair once that second is over.
        assert user.tokens_valid_after is not None
        time.sleep(max(0.0, user.tokens_valid_after.timestamp() - time.time()))
        return Response(_new_tokens(user))


class SignOutEverywhereView(APIView):
    @extend_schema(
        tags=["auth"],
        summary="Sign out everywhere: every session, token and socket of yours ends",
        request=None,
        responses={204: None, **error_responses(401)},
    )
    def post(self, request: Request) -> Response:
        services.user_sign_out_everywhere(user=acting_user(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class InvitationCreateView(APIView):
    @extend_schema(
        tags=["auth"],
        summary="Make an invitation link (moderators and admins)",
        request=InvitationCreateSerializer,
        responses={201: InvitationSerializer, **error_responses(400, 401, 403, 429)},
    )
    def post(self, request: Request) -> Response:
        serializer = InvitationCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        invitation, token = services.invitation_create(
            actor=acting_user(request), **serializer.validated_data
        )
        body = {
            "id": str(invitation.pk),
            "url": request.build_absolute_uri(invitation_path(token)),
            "token": token,
            "expires_at": invitation.expires_at,
            "max_uses": invitation.max_uses,
            "uses": invitation.uses,
            "email": invitation.email,
        }
        return Response(InvitationSerializer(body).data, status=status.HTTP_201_CREATED)


def invitation_path(token: str) -> str:
    return reverse("web:invitation", kwargs={"token": token})
