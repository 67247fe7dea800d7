"""tastypie resources: the same resource behind keytui's class and tastypie's own."""

from django.contrib.auth import get_user_model
from tastypie.authentication import ApiKeyAuthentication
from tastypie.authorization import Authorization, DjangoAuthorization
from tastypie.resources import ModelResource

from keytui.tastypie import KeytuiAuthentication


class _Users(ModelResource):
    def dehydrate(self, bundle):
        user = bundle.request.user
        bundle.data["viewer"] = user.get_username() if user.is_authenticated else None
        bundle.data["username"] = bundle.obj.get_username()
        key = getattr(bundle.request, "keytui_key", None)
        bundle.data["key"] = key.id if key is not None else None
        return bundle

    class Meta:
        queryset = get_user_model().objects.filter(username="alice")
        fields = ["first_name"]  # not "username": tastypie would take ?username= as a filter
        allowed_methods = ["get"]


def resource(name, authentication, authorization):
    meta = type("Meta", (_Users.Meta,), {
        "resource_name": name,
        "authentication": authentication,
        "authorization": authorization,
    })
    return type(f"R_{name}", (_Users,), {"Meta": meta})()


# keytui's class; DjangoAuthorization needs request.user with auth.view_user
keytui_users = resource("keytui", KeytuiAuthentication(), DjangoAuthorization())
# keytui's class, no authorization: keys that map to no user pass too
keytui_open = resource("keytui_open", KeytuiAuthentication(), Authorization())
# tastypie's own ApiKeyAuthentication on its ApiKey table (sqlite)
tastypie_users = resource("tastypie", ApiKeyAuthentication(), DjangoAuthorization())
