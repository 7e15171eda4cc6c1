"""The generated reference world: vendor master, buyer entities, product catalogue, purchase orders.

Documents are drawn from this world and the same world is written out as reference-data CSVs, so the
gate sees exactly the vendors, tax ids, IBANs and POs that the documents refer to (or deliberately
do not). The vendor master depends only on the seed; POs are added as documents need them.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from decimal import Decimal

from pipeline.samples import ids
from pipeline.samples.locales import COUNTRY_LOCALE, LOCALES

_NAME_PARTS: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    # country -> (first words, second words, legal forms)
    "US": (
        ("Acme", "Summit", "Blue Ridge", "Lakeside", "Pioneer", "Redwood", "Keystone", "Granite"),
        ("Office Supply", "Logistics", "Industrial", "Software", "Facilities", "Packaging"),
        ("Inc.", "LLC", "Corp."),
    ),
    "GB": (
        ("Thames", "Pennine", "Albion", "Harrow", "Mersey", "Cotswold", "Kingsway", "Brunel"),
        ("Stationers", "Freight", "Engineering", "Consulting", "Catering", "Print"),
        ("Ltd", "Limited", "PLC"),
    ),
    "DE": (
        ("Müller", "Schneider", "Rheintal", "Nordlicht", "Bergmann", "Elbe", "Schwarzwald", "Hansa"),
        ("Bürotechnik", "Logistik", "Maschinenbau", "IT-Service", "Verpackung", "Gebäudedienste"),
        ("GmbH", "AG", "GmbH & Co. KG"),
    ),
    "FR": (
        ("Dupont", "Lumière", "Bretagne", "Provence", "Loire", "Garnier", "Atlantique", "Rivoli"),
        ("Fournitures", "Transports", "Industrie", "Informatique", "Emballages", "Services"),
        ("SARL", "SAS", "SA"),
    ),
    "ES": (
        ("Ibérica", "Levante", "Castilla", "Montes", "Guadalquivir", "Sol", "Cantábrica", "Navarro"),
        ("Suministros", "Logística", "Ingeniería", "Sistemas", "Embalajes", "Servicios"),
        ("S.L.", "S.A.", "S.L.U."),
    ),
    "NL": (
        ("Van Dijk", "Hollandia", "Zeeland", "De Vries", "Amstel", "Polder", "Oranje", "Noordzee"),
        ("Kantoorartikelen", "Transport", "Techniek", "ICT", "Verpakkingen", "Facilitair"),
        ("B.V.", "N.V.", "V.O.F."),
    ),
}

_STREETS: dict[str, tuple[tuple[str, ...], str]] = {
    "US": (("Main Street", "Oak Avenue", "Market Street", "Industrial Pkwy", "Elm Drive"), "{n} {s}"),
    "GB": (("High Street", "Station Road", "Church Lane", "Victoria Road", "Mill Lane"), "{n} {s}"),
    "DE": (("Hauptstraße", "Bahnhofstraße", "Industriestraße", "Lindenweg", "Gartenstraße"), "{s} {n}"),
    "FR": (("rue de la République", "avenue Victor Hugo", "boulevard Voltaire", "rue des Lilas"), "{n} {s}"),
    "ES": (("Calle Mayor", "Avenida de la Constitución", "Calle Real", "Paseo del Prado"), "{s}, {n}"),
    "NL": (("Dorpsstraat", "Kerkstraat", "Stationsweg", "Industrieweg", "Molenstraat"), "{s} {n}"),
}

_CITIES: dict[str, tuple[tuple[str, str], ...]] = {
    "US": (
        ("Springfield, IL", "62701"),
        ("Columbus, OH", "43004"),
        ("Austin, TX", "73301"),
        ("Denver, CO", "80202"),
    ),
    "GB": (("Manchester", "M1 1AE"), ("Leeds", "LS1 4AP"), ("Bristol", "BS1 5TR"), ("Reading", "RG1 3EX")),
    "DE": (("Köln", "50667"), ("Hamburg", "20095"), ("München", "80331"), ("Leipzig", "04109")),
    "FR": (("Lyon", "69002"), ("Nantes", "44000"), ("Lille", "59000"), ("Bordeaux", "33000")),
    "ES": (("Madrid", "28013"), ("Valencia", "46002"), ("Sevilla", "41001"), ("Bilbao", "48001")),
    "NL": (("Utrecht", "3511"), ("Rotterdam", "3011"), ("Eindhoven", "5611"), ("Groningen", "9711")),
}

_COUNTRY_NAMES = {
    "US": "USA",
    "GB": "United Kingdom",
    "DE": "Deutschland",
    "FR": "France",
    "ES": "España",
    "NL": "Nederland",
}


@dataclass(frozen=True)
class Address:
    lines: tuple[str, ...]

    def one_line(self) -> str:
        return ", ".join(self.lines)


@dataclass
class Vendor:
    vendor_id: str
    name: str
    aliases: tuple[str, ...]
    country: str
    locale: str
    currency: str
    tax_id: str
    iban: str  # empty for US vendors (paid by ACH: routing + account)
    address: Address
    active: bool = True
    routing: str = ""
    account: str = ""
    phone: str = ""
    email: str = ""


@dataclass(frozen=True)
class CatalogItem:
    sku: str
    names: dict[str, str]
    price: Decimal
    unit_fraction: bool = False  # hours, kg: quantities with decimals


@dataclass
class POLine:
    line_no: int
    sku: str
    description: str
    quantity: Decimal
    unit_price: Decimal
    need_by: dt.date


@dataclass
class PurchaseOrder:
    po_number: str
    vendor_id: str
    currency: str
    order_date: dt.date
    status: str
    lines: list[POLine]


@dataclass
class GoodsReceipt:
    gr_number: str
    po_number: str
    line_no: int
    quantity: Decimal
    received: dt.date


def _address(rng: random.Random, country: str) -> Address:
    streets, fmt = _STREETS[country]
    street = fmt.format(n=rng.randint(1, 220), s=rng.choice(streets))
    city, postcode = rng.choice(_CITIES[country])
    if country == "US" or country == "GB":
        state_line = f"{city} {postcode}"
    elif country == "NL":
        state_line = f"{postcode} {ids.random_letters(rng, 2)} {city}"
    else:
        state_line = f"{postcode} {city}"
    return Address((street, state_line, _COUNTRY_NAMES[country]))


_CATALOG_ROWS: tuple[tuple[str, str, str, str, str, str, bool], ...] = (
    # price, en, de, fr, es, nl, fractional quantity
    (
        "4.95",
        "A4 copy paper, 500 sheets",
        "Kopierpapier A4, 500 Blatt",
        "Papier A4, 500 feuilles",
        "Papel A4, 500 hojas",
        "Kopieerpapier A4, 500 vel",
        False,
    ),
    (
        "12.40",
        "Toner cartridge black",
        "Tonerkartusche schwarz",
        "Cartouche de toner noir",
        "Cartucho de tóner negro",
        "Tonercartridge zwart",
        False,
    ),
    (
        "89.00",
        "Consulting services (hours)",
        "Beratungsleistung (Std.)",
        "Prestation de conseil (heures)",
        "Servicios de consultoría (horas)",
        "Advieswerkzaamheden (uren)",
        True,
    ),
    (
        "65.00",
        "Software support (hours)",
        "Software-Support (Std.)",
        "Support logiciel (heures)",
        "Soporte de software (horas)",
        "Softwareondersteuning (uren)",
        True,
    ),
    (
        "249.00",
        "Office chair, ergonomic",
        "Bürostuhl, ergonomisch",
        "Chaise de bureau ergonomique",
        "Silla de oficina ergonómica",
        "Bureaustoel, ergonomisch",
        False,
    ),
    (
        "1.85",
        "Shipping carton 40x30x30",
        "Versandkarton 40x30x30",
        "Carton d'expédition 40x30x30",
        "Caja de envío 40x30x30",
        "Verzenddoos 40x30x30",
        False,
    ),
    (
        "0.42",
        "Packing tape roll",
        "Packband Rolle",
        "Rouleau de ruban adhésif",
        "Rollo de cinta de embalar",
        "Rol verpakkingstape",
        False,
    ),
    ("3.20", "Freight per kg", "Fracht pro kg", "Fret par kg", "Flete por kg", "Vracht per kg", True),
    (
        "450.00",
        "Pallet transport Hamburg-Lyon",
        "Palettentransport Hamburg-Lyon",
        "Transport de palettes Hambourg-Lyon",
        "Transporte de palés Hamburgo-Lyon",
        "Pallettransport Hamburg-Lyon",
        False,
    ),
    (
        "1299.00",
        "Laptop 14 inch, 16 GB",
        "Notebook 14 Zoll, 16 GB",
        "Ordinateur portable 14 pouces, 16 Go",
        "Portátil 14 pulgadas, 16 GB",
        "Laptop 14 inch, 16 GB",
        False,
    ),
    (
        "19.99",
        "USB-C docking cable",
        "USB-C-Dockingkabel",
        "Câble d'accueil USB-C",
        "Cable de base USB-C",
        "USB-C-dockingkabel",
        False,
    ),
    (
        "35.00",
        "Cleaning service (hours)",
        "Gebäudereinigung (Std.)",
        "Service de nettoyage (heures)",
        "Servicio de limpieza (horas)",
        "Schoonmaakdienst (uren)",
        True,
    ),
    (
        "7.50",
        "Coffee beans 1 kg",
        "Kaffeebohnen 1 kg",
        "Café en grains 1 kg",
        "Café en grano 1 kg",
        "Koffiebonen 1 kg",
        False,
    ),
    (
        "2.10",
        "Ballpoint pens, box of 10",
        "Kugelschreiber, 10er Pack",
        "Stylos à bille, boîte de 10",
        "Bolígrafos, caja de 10",
        "Balpennen, doos van 10",
        False,
    ),
    (
        "145.00",
        "Software licence, annual",
        "Softwarelizenz, jährlich",
        "Licence logicielle annuelle",
        "Licencia de software anual",
        "Softwarelicentie, jaarlijks",
        False,
    ),
    (
        "27.80",
        "Safety gloves, pack of 12",
        "Schutzhandschuhe, 12 Paar",
        "Gants de sécurité, lot de 12",
        "Guantes de seguridad, pack de 12",
        "Werkhandschoenen, 12 paar",
        False,
    ),
    (
        "560.00",
        "Maintenance contract, monthly",
        "Wartungsvertrag, monatlich",
        "Contrat de maintenance mensuel",
        "Contrato de mantenimiento mensual",
        "Onderhoudscontract, maandelijks",
        False,
    ),
    (
        "0.95",
        "Steel bolts M8, each",
        "Stahlschrauben M8, Stück",
        "Boulons acier M8, pièce",
        "Tornillos de acero M8, unidad",
        "Stalen bouten M8, stuk",
        False,
    ),
    (
        "18.60",
        "Printer paper rolls 80 mm",
        "Thermorollen 80 mm",
        "Rouleaux thermiques 80 mm",
        "Rollos térmicos 80 mm",
        "Thermische rollen 80 mm",
        False,
    ),
    (
        "74.00",
        "Training workshop (per person)",
        "Schulung (pro Person)",
        "Formation (par personne)",
        "Formación (por persona)",
        "Training (per persoon)",
        False,
    ),
)


def _catalog() -> tuple[CatalogItem, ...]:
    items = []
    for i, (price, en, de, fr, es, nl, frac) in enumerate(_CATALOG_ROWS):
        items.append(
            CatalogItem(
                f"SKU-{1000 + i * 7}",
                {"en": en, "de": de, "fr": fr, "es": es, "nl": nl},
                Decimal(price),
                frac,
            )
        )
    return tuple(items)


CATALOG = _catalog()

BUYERS: tuple[tuple[str, str], ...] = (
    ("Northwind Trading GmbH", "DE"),
    ("Contoso Europe B.V.", "NL"),
    ("Globex Retail Ltd", "GB"),
    ("Initech Services Inc.", "US"),
    ("Soylent Distribution SAS", "FR"),
    ("Umbrella Iberia S.L.", "ES"),
)


@dataclass(frozen=True)
class Buyer:
    name: str
    country: str
    address: Address


class World:
    """Reference data and counters shared by all documents of one generation run."""

    def __init__(
        self, seed: int, vendors_per_country: int = 6, as_of: dt.date = dt.date(2026, 11, 20)
    ) -> None:
        self.seed = seed
        self.as_of = as_of
        rng = random.Random(f"world:{seed}")
        self.vendors: list[Vendor] = []
        used_names: set[str] = set()
        for country in ("US", "GB", "DE", "FR", "ES", "NL"):
            firsts, seconds, forms = _NAME_PARTS[country]
            for _ in range(vendors_per_country):
                while True:
                    core = f"{rng.choice(firsts)} {rng.choice(seconds)}"
                    if core not in used_names:
                        used_names.add(core)
                        break
                name = f"{core} {rng.choice(forms)}"
                vendor_id = f"V{len(self.vendors) + 1:04d}"
                locale = COUNTRY_LOCALE[country]
                aliases = (core, core.upper(), _initials(core) + " " + name.split()[-1])
                routing, account = ("", "")
                if country == "US":
                    routing, account = (
                        ids.aba_routing(rng),
                        "".join(rng.choice("0123456789") for _ in range(10)),
                    )
                self.vendors.append(
                    Vendor(
                        vendor_id=vendor_id,
                        name=name,
                        aliases=aliases,
                        country=country,
                        locale=locale,
                        currency=LOCALES[locale].currency,
                        tax_id=ids.tax_id(country, rng),
                        iban="" if country == "US" else ids.iban(country, rng),
                        address=_address(rng, country),
                        active=rng.random() > 0.08,
                        routing=routing,
                        account=account,
                        phone=f"+{rng.randint(10, 99)} {rng.randint(100, 999)} {rng.randint(100000, 999999)}",
                        email=f"billing@{_slug(core)}.example",
                    )
                )
        self.buyers = tuple(Buyer(name, country, _address(rng, country)) for name, country in BUYERS)
        self.purchase_orders: dict[str, PurchaseOrder] = {}
        self.goods_receipts: list[GoodsReceipt] = []
        self._po_seq = 0
        self._po_series = 0
        self._gr_seq = 0

    @property
    def active_vendors(self) -> list[Vendor]:
        return [v for v in self.vendors if v.active]

    @property
    def inactive_vendors(self) -> list[Vendor]:
        return [v for v in self.vendors if not v.active]

    def stranger(self, rng: random.Random) -> Vendor:
        """A plausible vendor that is NOT in the vendor master (gate: unknown vendor)."""
        country = rng.choice(("GB", "DE", "FR", "ES", "NL"))
        firsts, seconds, forms = _NAME_PARTS[country]
        core = f"{rng.choice(firsts)} {rng.choice(seconds)} {ids.random_letters(rng, 2)}"
        locale = COUNTRY_LOCALE[country]
        return Vendor(
            vendor_id="",
            name=f"{core} {rng.choice(forms)}",
            aliases=(),
            country=country,
            locale=locale,
            currency=LOCALES[locale].currency,
            tax_id=ids.tax_id(country, rng),
            iban=ids.iban(country, rng),
            address=_address(rng, country),
            phone=f"+{rng.randint(10, 99)} {rng.randint(100000, 999999)}",
            email=f"invoices@{_slug(core)}.example",
        )

    def vendor(self, vendor_id: str) -> Vendor:
        return next(v for v in self.vendors if v.vendor_id == vendor_id)

    def use_po_series(self, series: int) -> None:
        """Separate PO number ranges per document kind, so refdata written by separate runs of the
        same seed (invoices, PO changes) never collide."""
        self._po_series = series
        self._po_seq = max(self._po_seq, series * 100_000)

    def new_po_number(self, rng: random.Random) -> str:
        """Two numbering schemes seen in practice: SAP-style 45xxxxxxxx and PO-YYYY-NNNNN."""
        self._po_seq += 1
        if rng.random() < 0.5:
            return f"45{self.seed % 100:02d}{self._po_seq:06d}"
        return f"PO-{self.as_of.year}-{self.seed % 100:02d}{self._po_seq:06d}"

    def unknown_po_number(self, rng: random.Random) -> str:
        """A PO number in a valid format that is deliberately absent from the reference data."""
        return rng.choice(
            (f"PO-{self.as_of.year - 1}-9{rng.randint(1000, 9999)}", f"4599{rng.randint(100000, 999999)}")
        )

    def add_po(self, po: PurchaseOrder) -> None:
        self.purchase_orders[po.po_number] = po

    def add_receipt(self, po_number: str, line_no: int, quantity: Decimal, received: dt.date) -> None:
        self._gr_seq += 1
        self.goods_receipts.append(
            GoodsReceipt(
                f"GR-{self.seed % 100:02d}{self._gr_seq:06d}", po_number, line_no, quantity, received
            )
        )


def _initials(text: str) -> str:
    return "".join(word[0] for word in text.split() if word[0].isalpha()).upper()


def _slug(text: str) -> str:
    import unicodedata

    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return ascii_text.lower().replace(" ", "-")
