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
# The product catalogue, held in memory from the start: CATALOGUE_ITEMS products (none
# unless set). 200,000 take about 70 MB: more than a 32Mi memory limit holds.
CATALOGUE = [{"sku": f"SKU-{i:07d}", "name": f"Product {i}", "price_cents": i * 37 % 10000}
             for i in range(int(os.environ.get("CATALOGUE_ITEMS", "0")))]
