"""Builds ``shop.db``, the small SQLite database of the quick start.

Run ``python -m services.agent.sample.build_sample`` to rebuild it; the file is
committed so the quick start needs no step. Deterministic: same bytes of data
every time.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

PATH = Path(__file__).with_name("shop.db")

CUSTOMERS = [
    (1, "Ada Lovelace", "London", "2024-01-12"),
    (2, "Grace Hopper", "New York", "2024-02-03"),
    (3, "Alan Turing", "Manchester", "2024-02-17"),
    (4, "Katherine Johnson", "Hampton", "2024-03-08"),
    (5, "Edsger Dijkstra", "Eindhoven", "2024-04-21"),
    (6, "Barbara Liskov", "Boston", "2024-05-30"),
]
PRODUCTS = [
    (1, "Mechanical keyboard", "peripherals", 89.00),
    (2, "27-inch monitor", "displays", 249.00),
    (3, "USB-C dock", "peripherals", 129.50),
    (4, "Noise-cancelling headphones", "audio", 199.99),
    (5, "Webcam 4K", "peripherals", 74.90),
    (6, "Standing desk", "furniture", 429.00),
    (7, "Ergonomic chair", "furniture", 359.00),
    (8, "Portable speaker", "audio", 59.00),
]
ORDERS = [
    (1, 1, "2024-06-01", "shipped"),
    (2, 2, "2024-06-03", "shipped"),
    (3, 1, "2024-06-10", "delivered"),
    (4, 3, "2024-06-15", "cancelled"),
    (5, 4, "2024-07-02", "delivered"),
    (6, 5, "2024-07-09", "shipped"),
    (7, 6, "2024-07-20", "pending"),
    (8, 2, "2024-08-01", "delivered"),
    (9, 3, "2024-08-11", "pending"),
    (10, 1, "2024-08-30", "shipped"),
]
ORDER_ITEMS = [
    (1, 1, 1, 1),
    (2, 1, 3, 1),
    (3, 2, 2, 2),
    (4, 3, 4, 1),
    (5, 4, 6, 1),
    (6, 5, 7, 1),
    (7, 5, 8, 2),
    (8, 6, 5, 1),
    (9, 7, 1, 3),
    (10, 8, 4, 1),
    (11, 9, 2, 1),
    (12, 10, 8, 1),
    (13, 10, 3, 1),
]


def build(path: Path = PATH) -> Path:
    path.unlink(missing_ok=True)
    connection = sqlite3.connect(path)
    with connection:
        connection.executescript("""
            CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, city TEXT, joined_on TEXT);
            CREATE TABLE products (id INTEGER PRIMARY KEY, name TEXT NOT NULL, category TEXT, price REAL);
            CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER REFERENCES customers(id),
                                 ordered_on TEXT, status TEXT);
            CREATE TABLE order_items (id INTEGER PRIMARY KEY, order_id INTEGER REFERENCES orders(id),
                                      product_id INTEGER REFERENCES products(id), quantity INTEGER);
        """)
        connection.executemany("INSERT INTO customers VALUES (?, ?, ?, ?)", CUSTOMERS)
        connection.executemany("INSERT INTO products VALUES (?, ?, ?, ?)", PRODUCTS)
        connection.executemany("INSERT INTO orders VALUES (?, ?, ?, ?)", ORDERS)
        connection.executemany("INSERT INTO order_items VALUES (?, ?, ?, ?)", ORDER_ITEMS)
    connection.execute("VACUUM")
    connection.close()
    return path


if __name__ == "__main__":
    print(build())
