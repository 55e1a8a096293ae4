"""The "shop" test app, release 1: a Django project as thousands are written, its secret
from the environment. Without SECRET_KEY it dies at start with Python's KeyError."""
import os

SECRET_KEY = os.environ["SECRET_KEY"]
DEBUG = False
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "shop.urls"
INSTALLED_APPS: list[str] = []
DATABASES: dict[str, dict[str, str]] = {}
USE_TZ = True
