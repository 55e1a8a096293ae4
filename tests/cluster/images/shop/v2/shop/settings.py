"""The "shop" test app, release 2: adds a cache whose address comes from CACHE_URL. A
promotion of this release without that variable is a bad rollout."""
import os

SECRET_KEY = os.environ["SECRET_KEY"]
CACHE_URL = os.environ["CACHE_URL"]
DEBUG = False
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "shop.urls"
INSTALLED_APPS: list[str] = []
DATABASES: dict[str, dict[str, str]] = {}
USE_TZ = True
