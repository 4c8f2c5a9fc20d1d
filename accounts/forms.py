"""Forms of the access pages: they parse and name bad fields; the rules live in services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts import roles
from recordings.scope import ExtensionError, canonical_extensions

MAX_CUSTOMER_ID = 2**31 - 1


class UserForm(forms.Form):
    first_name = forms.CharField(label=_("Nome"), max_length=150, required=False)
    last_name = forms.CharField(label=_("Sobrenome"), max_length=150, required=False)
    email = forms.EmailField(label=_("E-mail"), required=False)
    groups = forms.MultipleChoiceField(
        label=_("Papéis"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        choices=[(name, roles.ROLE_LABELS.get(name, name)) for name in roles.ROLE_PERMISSIONS],
    )
    customer_id = forms.IntegerField(
        label=_("Assinante"),
        required=False,
        min_value=1,
        max_value=MAX_CUSTOMER_ID,
        help_text=_("Vazio: todos os assinantes (precisa da aprovação de outro gestor)."),
        widget=forms.TextInput(attrs={"inputmode": "numeric"}),
    )
    extensions = forms.CharField(
        label=_("Ramais"),
        required=False,
        max_length=2000,
        help_text=_(
            "Ramais e faixas, separados por vírgula (ex.: 4101-4120, 2003): o usuário só vê "
            "as chamadas com origem ou destino neles. Vazio: sem limite de ramal. Tirar ou "
            "ampliar os ramais precisa da aprovação de outro gestor."
        ),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    is_active = forms.BooleanField(label=_("Pode entrar"), required=False)
    reason = forms.CharField(
        label=_("Motivo (obrigatório quando a mudança precisa de aprovação)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def clean_extensions(self) -> str:
        try:
            return canonical_extensions(self.cleaned_data.get("extensions") or "")
        except ExtensionError as exc:
            raise forms.ValidationError(str(exc), code="extensions") from None


class NewUserForm(UserForm):
    username = forms.RegexField(
        label=_("Nome de usuário"),
        max_length=150,
        regex=r"^[\w.@+-]+\Z",
        error_messages={"invalid": _("Use só letras, números e @ . + - _")},
    )
    password = forms.CharField(
        label=_("Senha inicial"),
        strip=False,
        max_length=128,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("A pessoa escolhe a própria senha no primeiro acesso."),
    )

    field_order = ["username", "first_name", "last_name", "email", "password"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        del self.fields["is_active"]


class PasswordResetForm(forms.Form):
    password = forms.CharField(
        label=_("Nova senha"),
        strip=False,
        max_length=128,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )


class OwnPasswordForm(forms.Form):
    old_password = forms.CharField(
        label=_("Senha atual"),
        strip=False,
        max_length=128,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    new_password = forms.CharField(
        label=_("Nova senha"),
        strip=False,
        max_length=128,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    new_password2 = forms.CharField(
        label=_("Nova senha, de novo"),
        strip=False,
        max_length=128,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("new_password") != cleaned.get("new_password2"):
            self.add_error("new_password2", _("As duas senhas não são iguais."))
        return cleaned


class DecisionForm(forms.Form):
    password = forms.CharField(required=False, strip=False, max_length=128)
    reason = forms.CharField(required=False, max_length=2000)
