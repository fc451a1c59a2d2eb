"""/api/auth/: JWT tokens, registration and the current user."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt import serializers as jwt_serializers
from rest_framework_simplejwt import views as jwt_views
from rest_framework_simplejwt.settings import api_settings as jwt_settings

from accounts import services
from accounts.authentication import check_token_still_valid
from accounts.models import User
from chat.exceptions import ValidationError as ChatValidationError
from chatsite.api_errors import error_responses
from chatsite.ratelimit import AuthRateThrottle

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


class RegisterSerializer(serializers.Serializer):
    id = serializers.CharField(read_only=True)
    username = serializers.CharField(
        max_length=150, validators=list(User._meta.get_field("username").validators)
    )
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(write_only=True, max_length=128, trim_whitespace=False)

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        # Strings only, as the schema says (DRF's CharField turns a number into text).
        if isinstance(data, Mapping):
            wrong = [name for name in ("username", "email", "password") if name in data]
            wrong = [name for name in wrong if not isinstance(data[name], str)]
            if wrong:
                raise serializers.ValidationError({name: ["Must be a string."] for name in wrong})
        return super().to_internal_value(data)

    def validate_email(self, value: str) -> str:
        return User.objects.normalize_email(value)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        problems = services.user_registration_problems(**attrs)
        if problems:
            raise serializers.ValidationError(problems)
        return attrs

    def create(self, validated_data: dict[str, Any]) -> User:
        try:
            return services.user_register(**validated_data)
        except ChatValidationError as exc:
            raise serializers.ValidationError(exc.fields) from None

    def to_representation(self, instance: User) -> dict[str, Any]:
        return {"id": str(instance.pk), "username": instance.username, "email": instance.email}


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
        responses={201: RegisterSerializer, **error_responses(400, 429)},
    )
    def post(self, request: Request) -> Response:
        serializer = RegisterSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        serializer.save()
        return Response(serializer.data, status=status.HTTP_201_CREATED)


class MeView(APIView):
    @extend_schema(
        tags=["auth"],
        summary="The signed-in user",
        responses={200: MeSerializer, **error_responses(401)},
    )
    def get(self, request: Request) -> Response:
        return Response(MeSerializer(request.user).data)
