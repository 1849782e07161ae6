"""Fixed demo content in the style of BC's CRONUS demo companies.

Reference tables (currencies, units, payment terms, ...) are the same small lists in every
company; name pools feed the generated master data.
"""

from __future__ import annotations

__all__ = ["COMPANIES"]

#: (name, displayName, local currency, full demo data?) per company of an environment.
#: ``name`` != ``displayName`` on the first one, as in DOCS' sample (docs/bc/2-urls.md §2.7).
COMPANIES = (
    ("CRONUS US", "CRONUS USA, Inc.", "USD", True),
    ("CRONUS Canada, Inc.", "CRONUS Canada, Inc.", "CAD", True),
    ("My Company", "My Company", "USD", False),
)

# (code, displayName, symbol, amountDecimalPlaces, amountRoundingPrecision)
CURRENCIES = (
    ("CAD", "Canadian dollar", "$", "2:2", 0.01),
    ("EUR", "Euro", "€", "2:2", 0.01),
    ("GBP", "Pound Sterling", "£", "2:2", 0.01),
    ("MXN", "Mexican peso", "$", "2:2", 0.01),
    ("USD", "US dollar", "$", "2:2", 0.01),
)
# (code, displayName, dueDateCalculation, discountDateCalculation, discountPercent, onCrMemo)
PAYMENT_TERMS = (
    ("1M(8D)", "1 Month/2% 8 days", "1M", "8D", 2, False),
    ("14 DAYS", "Net 14 days", "14D", "", 0, False),
    ("30 DAYS", "Net 30 days", "30D", "", 0, False),
    ("CM", "Current month", "CM", "", 0, False),
    ("COD", "Cash on delivery", "0D", "", 0, False),
)
PAYMENT_METHODS = (("BANK", "Bank Transfer"), ("CASH", "Cash"), ("CHECK", "Check"),
                   ("CARD", "Card payment"))
SHIPMENT_METHODS = (("CIF", "Cost Insurance and Freight"), ("EXW", "Ex Warehouse"),
                    ("FOB", "Free on Board"), ("PICKUP", "Pickup at Location"))
# (code, displayName, internationalStandardCode, symbol)
UNITS = (("PCS", "Piece", "EA", "pcs"), ("BOX", "Box", "BX", "box"), ("HOUR", "Hour", "HUR", "h"),
         ("KG", "Kilogram", "KGM", "kg"), ("PACK", "Pack", "PK", "pack"),
         ("SET", "Set", "SET", "set"))
ITEM_CATEGORIES = (("CHAIR", "Office Chair"), ("DESK", "Office Desk"), ("TABLE", "Assorted Tables"),
                   ("FURNITURE", "Office Furniture"), ("MISC", "Miscellaneous"),
                   ("SUPPLIERS", "Office Supplies"), ("LIGHT", "Lighting"), ("STORAGE", "Storage"))
# (code, displayName, addressFormat)
COUNTRIES = (("US", "United States", "City+County+Post Code"),
             ("CA", "Canada", "City+County+Post Code"),
             ("GB", "Great Britain", "Post Code+City"), ("DE", "Germany", "Post Code+City"),
             ("MX", "Mexico", "Post Code+City"), ("FR", "France", "Post Code+City"),
             ("DK", "Denmark", "Post Code+City"), ("NL", "Netherlands", "Post Code+City"))
# (code, displayName, taxType)
TAX_GROUPS = (("FURNITURE", "Taxable Olympic Furniture", "Sales Tax"),
              ("LABOR", "Labor on Job", "Sales Tax"), ("MATERIALS", "Taxable Olympic Materials",
                                                         "Sales Tax"),
              ("NONTAXABLE", "Nontaxable", "Sales Tax"))
# (code, displayName, city, state, postalCode)
LOCATIONS = (("EAST", "East Warehouse", "Atlanta", "GA", "31772"),
             ("MAIN", "Main Warehouse", "Chicago", "IL", "61236"),
             ("WEST", "West Warehouse", "Miami", "FL", "37125"),
             ("OUT. LOG.", "Outsourced Logistics", "Seattle", "WA", "98101"),
             ("WHITE", "White Warehouse", "Atlanta", "GA", "31772"))
DIMENSIONS = (("AREA", "Area", ("10", "20", "30", "40")),
              ("DEPARTMENT", "Department", ("ADM", "PROD", "SALES")),
              ("PROJECT", "Project", ("TOYOTA", "VW")))
# (number, displayName, category, subCategory, accountType)
ACCOUNTS = (
    ("10000", "BALANCE SHEET", "Assets", "", "Heading"),
    ("10100", "Checking account", "Assets", "Cash", "Posting"),
    ("10200", "Saving account", "Assets", "Cash", "Posting"),
    ("10400", "Accounts Receivable", "Assets", "Accounts Receivable", "Posting"),
    ("12200", "Inventory", "Assets", "Inventory", "Posting"),
    ("16100", "Office Equipment", "Assets", "Equipment", "Posting"),
    ("20100", "Accounts Payable", "Liabilities", "Current Liabilities", "Posting"),
    ("22000", "Sales Tax Payable", "Liabilities", "Payroll Liabilities", "Posting"),
    ("30100", "Capital Stock", "Equity", "Common Stock", "Posting"),
    ("40000", "INCOME STATEMENT", "Income", "", "Heading"),
    ("40100", "Income, Services", "Income", "Income, Service", "Posting"),
    ("40200", "Income, Product Sales", "Income", "Income, Product Sales", "Posting"),
    ("40300", "Sales Discounts", "Income", "Income, Product Sales", "Posting"),
    ("50100", "Cost of Materials", "Cost of Goods Sold", "Cost of Goods", "Posting"),
    ("50200", "Cost of Labor", "Cost of Goods Sold", "Cost of Labor", "Posting"),
    ("60100", "Rent Expense", "Expense", "Rent Expense", "Posting"),
    ("60200", "Advertising Expense", "Expense", "Advertising Expense", "Posting"),
    ("60300", "Utilities Expense", "Expense", "Utilities Expense", "Posting"),
    ("99999", "NET INCOME", "Income", "", "Total"),
)
JOURNALS = (("DEFAULT", "Default Journal Batch", "General"),
            ("MONTHEND", "Month End", "General"), ("CASH", "Cash receipts", "Cash Receipts"))
BANK_ACCOUNTS = (("CHECKING", "Checking account", "4321-1234", False),
                 ("SAVINGS", "Savings account", "8765-4321", False),
                 ("PETTY", "Petty cash", "", True))

CITIES = (("Atlanta", "GA", "31772"), ("Chicago", "IL", "61236"), ("Miami", "FL", "37125"),
          ("Seattle", "WA", "98101"), ("Boston", "MA", "02108"), ("Denver", "CO", "80202"),
          ("Austin", "TX", "78701"), ("Portland", "OR", "97204"), ("Phoenix", "AZ", "85004"),
          ("Toronto", "ON", "M5H 2N2"), ("Vancouver", "BC", "V6B 1A1"),
          ("Montreal", "QC", "H2Y 1C6"))
STREETS = ("Main Street", "Oak Avenue", "Maple Drive", "Pine Road", "Cedar Lane", "Elm Street",
           "Lakeview Blvd", "Hillcrest Way", "Sunset Avenue", "River Road")
COMPANY_WORDS = ("Adatum", "Trey", "School of Fine Art", "Alpine", "Relecloud", "Coho",
                 "Fabrikam", "Contoso", "Litware", "Northwind", "Tailspin", "Wide World",
                 "Proseware", "Lucerne", "Margie's", "Humongous", "Wingtip", "Blue Yonder")
COMPANY_SUFFIX = ("Corporation", "Research", "Inc.", "Ltd.", "Traders", "Supply", "Group",
                  "Partners", "Outfitters", "Designs")
CITY_WORDS = ("ATHENS", "PARIS", "ROME", "LONDON", "ANTWERP", "BERLIN", "MUNICH", "AMSTERDAM",
              "TOKYO", "SYDNEY", "MOSCOW", "SEVILLE", "ATLANTA", "OSLO", "VIENNA", "DUBLIN")
PRODUCTS = (("Desk", "DESK"), ("Guest Chair", "CHAIR"), ("Swivel Chair", "CHAIR"),
            ("Conference Table", "TABLE"), ("Whiteboard", "MISC"), ("Mobile Pedestal", "STORAGE"),
            ("Storage Unit", "STORAGE"), ("Lamp", "LIGHT"), ("Bookcase", "FURNITURE"),
            ("Filing Cabinet", "STORAGE"), ("Paper Tray", "SUPPLIERS"), ("Sofa", "FURNITURE"))
COLOURS = ("black", "white", "red", "blue", "green", "grey", "yellow", "oak")
GIVEN = ("Annette", "Jim", "Esther", "Otis", "Lina", "Alicia", "Benjamin", "Chris", "Dana",
         "Eduardo", "Farah", "Gwen", "Hiro", "Ines", "Jonas", "Kayla")
SURNAMES = ("Hill", "Olive", "Valle", "Falls", "Townsend", "Thornton", "Martin", "Green",
            "Lopez", "Patel", "Nakamura", "Schmidt", "Larsen", "Dubois", "Rossi", "Novak")
JOBS = ("Sales Manager", "Accountant", "Warehouse Worker", "Designer", "Production Assistant",
        "Managing Director")
