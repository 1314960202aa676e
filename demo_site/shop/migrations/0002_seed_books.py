"""Seed the shop with a dozen books so every view has data on a fresh database."""

from django.db import migrations

BOOKS = [
    (
        "Structure and Interpretation of Computer Programs",
        "Abelson & Sussman",
        1985,
        "9780262510875",
    ),
    ("The Art of Computer Programming, Vol. 1", "Donald Knuth", 1968, "9780201896831"),
    ("The C Programming Language", "Kernighan & Ritchie", 1978, "9780131103627"),
    ("Design Patterns", "Gamma, Helm, Johnson & Vlissides", 1994, "9780201633610"),
    ("The Pragmatic Programmer", "Hunt & Thomas", 1999, "9780201616224"),
    ("Fluent Python", "Luciano Ramalho", 2015, "9781491946008"),
    ("Two Scoops of Django", "Greenfeld & Roy", 2013, "9780981467344"),
    ("Designing Data-Intensive Applications", "Martin Kleppmann", 2017, "9781449373320"),
    ("Site Reliability Engineering", "Beyer, Jones, Petoff & Murphy", 2016, "9781491929124"),
    ("Using Asyncio in Python", "Caleb Hattingh", 2020, "9781492075332"),
    ("Python Concurrency with asyncio", "Matthew Fowler", 2022, "9781617298660"),
    ("High Performance Python", "Gorelick & Ozsvald", 2014, "9781449361594"),
]


def add_books(apps, schema_editor):
    Book = apps.get_model("shop", "Book")
    Book.objects.bulk_create(
        Book(title=title, author=author, year=year, isbn=isbn)
        for title, author, year, isbn in BOOKS
    )


def remove_books(apps, schema_editor):
    Book = apps.get_model("shop", "Book")
    Book.objects.filter(isbn__in=[isbn for *_, isbn in BOOKS]).delete()


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial")]

    operations = [migrations.RunPython(add_books, remove_books)]
