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
# The product catalogue, held in memory from the start: CATALOGUE_ITEMS products (none
# unless set). 200,000 take about 70 MB: more than a 32Mi memory limit holds.
CATALOGUE = [{"sku": f"SKU-{i:07d}", "name": f"Product {i}", "price_cents": i * 37 % 10000}
             for i in range(int(os.environ.get("CATALOGUE_ITEMS", "0")))]
