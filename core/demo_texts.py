"""Written sentences for the demo data: customer comments, insights and shout-outs.

Every text exists in English, Norwegian (bokmål), Danish and Swedish, so the demo
shows the product handling all four. Comments are grouped by theme (what the
customer talks about) and each theme has one sentiment, so a comment always
matches the score it comes with. Placeholders: ``{days}``, ``{minutes}``,
``{agent}`` (comments) and ``{names}`` (shout-outs).
"""

from __future__ import annotations

from typing import Final

# theme -> language -> templates
COMMENTS: Final[dict[str, dict[str, tuple[str, ...]]]] = {
    # ---------------------------------------------------------------- Delivery
    "delivery_late": {
        "en": (
            "My order arrived {days} days late and nobody told me why.",
            "Still waiting for the delivery, {days} days after the promised date.",
            "The parcel was late again. Tracking said it was on its way for days.",
            "Late delivery, and the driver never rang the doorbell.",
        ),
        "nb": (
            "Bestillingen kom {days} dager for sent, og ingen sa fra hvorfor.",
            "Venter fortsatt på leveransen, {days} dager etter lovet dato.",
            "Pakken var forsinket igjen. Sporingen sa at den var på vei i flere dager.",
            "Sen levering, og sjåføren ringte aldri på døren.",
        ),
        "da": (
            "Min ordre kom {days} dage for sent, og ingen fortalte mig hvorfor.",
            "Venter stadig på leveringen, {days} dage efter den lovede dato.",
            "Pakken var forsinket igen. Sporingen sagde, at den var på vej i flere dage.",
            "Forsinket levering, og chaufføren ringede aldrig på døren.",
        ),
        "sv": (
            "Min beställning kom {days} dagar för sent och ingen berättade varför.",
            "Väntar fortfarande på leveransen, {days} dagar efter utlovat datum.",
            "Paketet var försenat igen. Spårningen sa att det var på väg i flera dagar.",
            "Sen leverans, och chauffören ringde aldrig på dörren.",
        ),
    },
    "delivery_damaged": {
        "en": ("The box arrived damaged and one item was broken.",),
        "nb": ("Esken kom skadet, og en av varene var ødelagt.",),
        "da": ("Kassen kom beskadiget, og en af varerne var i stykker.",),
        "sv": ("Kartongen kom skadad och en av varorna var trasig.",),
    },
    "delivery_ok": {
        "en": ("Delivery was fine, but the time window could be narrower.",),
        "nb": ("Leveringen gikk greit, men tidsvinduet kunne vært smalere.",),
        "da": ("Leveringen gik fint, men tidsvinduet kunne være kortere.",),
        "sv": ("Leveransen gick bra, men tidsfönstret kunde vara kortare.",),
    },
    "delivery_fast": {
        "en": (
            "Fast delivery, the parcel came the day after I ordered.",
            "Delivered on time and the driver was very polite.",
        ),
        "nb": (
            "Rask levering, pakken kom dagen etter at jeg bestilte.",
            "Levert i tide, og sjåføren var veldig høflig.",
        ),
        "da": (
            "Hurtig levering, pakken kom dagen efter, at jeg bestilte.",
            "Leveret til tiden, og chaufføren var meget høflig.",
        ),
        "sv": (
            "Snabb leverans, paketet kom dagen efter att jag beställde.",
            "Levererat i tid och chauffören var väldigt trevlig.",
        ),
    },
    # ---------------------------------------------------------------- Support
    "support_wait": {
        "en": (
            "I waited {minutes} minutes on the phone before anyone answered.",
            "I had to explain my case three times to different people.",
        ),
        "nb": (
            "Jeg ventet {minutes} minutter i telefonen før noen svarte.",
            "Jeg måtte forklare saken min tre ganger til forskjellige personer.",
        ),
        "da": (
            "Jeg ventede {minutes} minutter i telefonen, før nogen svarede.",
            "Jeg måtte forklare min sag tre gange til forskellige personer.",
        ),
        "sv": (
            "Jag väntade {minutes} minuter i telefon innan någon svarade.",
            "Jag fick förklara mitt ärende tre gånger för olika personer.",
        ),
    },
    "support_ok": {
        "en": ("Support answered, but it took a while to get a solution.",),
        "nb": ("Kundeservice svarte, men det tok litt tid å få en løsning.",),
        "da": ("Kundeservice svarede, men det tog lidt tid at få en løsning.",),
        "sv": ("Kundtjänst svarade, men det tog ett tag att få en lösning.",),
    },
    "support_friendly": {
        "en": ("Friendly and helpful support, thank you!",),
        "nb": ("Vennlig og hjelpsom kundeservice, tusen takk!",),
        "da": ("Venlig og hjælpsom kundeservice, tusind tak!",),
        "sv": ("Vänlig och hjälpsam kundtjänst, tack så mycket!",),
    },
    # The same theme when the answer names the employee who helped.
    "support_friendly_named": {
        "en": ("{agent} in customer service was friendly and solved my problem right away.",),
        "nb": ("{agent} i kundeservice var vennlig og løste problemet mitt med en gang.",),
        "da": ("{agent} i kundeservice var venlig og løste mit problem med det samme.",),
        "sv": ("{agent} på kundtjänst var vänlig och löste mitt problem direkt.",),
    },
    # ---------------------------------------------------------------- Billing
    "invoice_error": {
        "en": (
            "The invoice was wrong again, I was charged twice.",
            "The invoice had the wrong amount and it took weeks to fix.",
        ),
        "nb": (
            "Fakturaen var feil igjen, jeg ble belastet to ganger.",
            "Fakturaen hadde feil beløp, og det tok flere uker å rette det.",
        ),
        "da": (
            "Fakturaen var forkert igen, jeg blev opkrævet to gange.",
            "Fakturaen havde et forkert beløb, og det tog flere uger at rette det.",
        ),
        "sv": (
            "Fakturan var fel igen, jag blev debiterad två gånger.",
            "Fakturan hade fel belopp och det tog flera veckor att rätta till det.",
        ),
    },
    "price_high": {
        "en": ("Too expensive compared with other providers.",),
        "nb": ("For dyrt sammenlignet med andre leverandører.",),
        "da": ("For dyrt i forhold til andre udbydere.",),
        "sv": ("För dyrt jämfört med andra leverantörer.",),
    },
    "billing_ok": {
        "en": ("The invoice was correct, but hard to read.",),
        "nb": ("Fakturaen var riktig, men vanskelig å lese.",),
        "da": ("Fakturaen var korrekt, men svær at læse.",),
        "sv": ("Fakturan var korrekt men svår att läsa.",),
    },
    "billing_clear": {
        "en": ("Clear invoices and easy to pay.",),
        "nb": ("Oversiktlige fakturaer og enkelt å betale.",),
        "da": ("Overskuelige fakturaer og nemt at betale.",),
        "sv": ("Tydliga fakturor och enkelt att betala.",),
    },
    # ---------------------------------------------------------------- Web shop
    "checkout_bug": {
        "en": (
            "The payment failed twice at checkout.",
            "The web shop logged me out in the middle of my order.",
        ),
        "nb": (
            "Betalingen feilet to ganger i kassen.",
            "Nettbutikken logget meg ut midt i bestillingen.",
        ),
        "da": (
            "Betalingen fejlede to gange ved kassen.",
            "Webshoppen loggede mig ud midt i min bestilling.",
        ),
        "sv": (
            "Betalningen misslyckades två gånger i kassan.",
            "Webbutiken loggade ut mig mitt i beställningen.",
        ),
    },
    "web_ok": {
        "en": ("Works fine, but the search could be better.",),
        "nb": ("Fungerer greit, men søket kunne vært bedre.",),
        "da": ("Fungerer fint, men søgningen kunne være bedre.",),
        "sv": ("Fungerar bra, men sökningen kunde vara bättre.",),
    },
    "app_easy": {
        "en": (
            "The app is easy to use and I found what I needed quickly.",
            "Easy to order in the web shop.",
        ),
        "nb": (
            "Appen er enkel å bruke, og jeg fant raskt det jeg trengte.",
            "Enkelt å bestille i nettbutikken.",
        ),
        "da": (
            "Appen er nem at bruge, og jeg fandt hurtigt det, jeg skulle bruge.",
            "Nemt at bestille i webshoppen.",
        ),
        "sv": (
            "Appen är enkel att använda och jag hittade snabbt det jag behövde.",
            "Enkelt att beställa i webbutiken.",
        ),
    },
    # ---------------------------------------------------------------- Onboarding
    "onboarding_confusing": {
        "en": ("Setting up the account was confusing and the guide was out of date.",),
        "nb": ("Det var forvirrende å sette opp kontoen, og veiledningen var utdatert.",),
        "da": ("Det var forvirrende at oprette kontoen, og vejledningen var forældet.",),
        "sv": ("Det var förvirrande att skapa kontot och guiden var inaktuell.",),
    },
    "onboarding_ok": {
        "en": ("Getting started was okay, but it took longer than expected.",),
        "nb": ("Oppstarten var grei, men tok lengre tid enn ventet.",),
        "da": ("Opstarten var okay, men tog længere tid end forventet.",),
        "sv": ("Uppstarten var okej, men tog längre tid än väntat.",),
    },
    "onboarding_helpful": {
        "en": ("Getting started was smooth, the welcome call helped a lot.",),
        "nb": ("Oppstarten gikk smertefritt, velkomstsamtalen hjalp mye.",),
        "da": ("Opstarten gik gnidningsfrit, velkomstopkaldet hjalp meget.",),
        "sv": ("Uppstarten gick smidigt, välkomstsamtalet hjälpte mycket.",),
    },
    # ---------------------------------------------------------------- any touchpoint
    "general_praise": {
        "en": ("Great service overall, I recommend you to my friends.",),
        "nb": ("Flott service, jeg anbefaler dere til vennene mine.",),
        "da": ("God service, jeg anbefaler jer til mine venner.",),
        "sv": ("Bra service överlag, jag rekommenderar er till mina vänner.",),
    },
}

# touchpoint -> sentiment -> (theme, weight)
COMMENT_THEMES: Final[dict[str, dict[str, tuple[tuple[str, float], ...]]]] = {
    "Delivery": {
        "negative": (("delivery_late", 0.55), ("delivery_damaged", 0.3), ("price_high", 0.15)),
        "neutral": (("delivery_ok", 1.0),),
        "positive": (("delivery_fast", 0.8), ("general_praise", 0.2)),
    },
    "Support": {
        "negative": (("support_wait", 0.85), ("price_high", 0.15)),
        "neutral": (("support_ok", 1.0),),
        "positive": (("support_friendly", 0.8), ("general_praise", 0.2)),
    },
    "Onboarding": {
        "negative": (("onboarding_confusing", 1.0),),
        "neutral": (("onboarding_ok", 1.0),),
        "positive": (("onboarding_helpful", 0.8), ("general_praise", 0.2)),
    },
    "Billing": {
        "negative": (("invoice_error", 0.7), ("price_high", 0.3)),
        "neutral": (("billing_ok", 1.0),),
        "positive": (("billing_clear", 0.8), ("general_praise", 0.2)),
    },
    "Web shop": {
        "negative": (("checkout_bug", 0.8), ("price_high", 0.2)),
        "neutral": (("web_ok", 1.0),),
        "positive": (("app_easy", 0.8), ("general_praise", 0.2)),
    },
}

# Insights are written by employees in their own language; the reporter's language
# picks the text. Each theme: category, sentiment, touchpoint, impact (1-3), texts.
INSIGHTS: Final[dict[str, tuple[str, str, str | None, int, dict[str, str]]]] = {
    "carrier_late": (
        "delivery",
        "negative",
        "Delivery",
        3,
        {
            "en": "Several private customers called today about parcels arriving days late "
            "with the new carrier.",
            "nb": "Flere privatkunder ringte i dag om pakker som kom flere dager for sent "
            "med den nye transportøren.",
            "da": "Flere privatkunder ringede i dag om pakker, der kom flere dage for sent "
            "med den nye fragtmand.",
            "sv": "Flera privatkunder ringde i dag om paket som kom flera dagar för sent "
            "med den nya transportören.",
        },
    ),
    "tracking": (
        "delivery",
        "negative",
        "Delivery",
        2,
        {
            "en": "Customers ask for tracking links that actually update; the current ones "
            "stop after pickup.",
            "nb": "Kundene ber om sporingslenker som faktisk oppdateres; dagens stopper "
            "etter henting.",
            "da": "Kunderne beder om sporingslinks, der faktisk opdateres; de nuværende "
            "stopper efter afhentning.",
            "sv": "Kunderna ber om spårningslänkar som faktiskt uppdateras; dagens slutar "
            "efter upphämtning.",
        },
    ),
    "carrier_back": (
        "delivery",
        "positive",
        "Delivery",
        1,
        {
            "en": "Since we switched back to the old carrier, customers say parcels arrive "
            "on time again.",
            "nb": "Etter at vi byttet tilbake til den gamle transportøren, sier kundene at "
            "pakkene kommer i tide igjen.",
            "da": "Efter at vi skiftede tilbage til den gamle fragtmand, siger kunderne, at "
            "pakkerne kommer til tiden igen.",
            "sv": "Sedan vi bytte tillbaka till den gamla transportören säger kunderna att "
            "paketen kommer i tid igen.",
        },
    ),
    "evening_slots": (
        "delivery",
        "neutral",
        "Delivery",
        1,
        {
            "en": "A customer suggested evening delivery slots for people who work during the day.",
            "nb": "En kunde foreslo leveringstider på kvelden for folk som jobber på dagtid.",
            "da": "En kunde foreslog leveringstider om aftenen for folk, der arbejder om dagen.",
            "sv": "En kund föreslog leveranstider på kvällen för folk som jobbar dagtid.",
        },
    ),
    "double_invoice": (
        "service",
        "negative",
        "Billing",
        2,
        {
            "en": "An SMB customer was invoiced twice for the same order and wants a credit note.",
            "nb": "En SMB-kunde ble fakturert to ganger for samme ordre og ønsker en kreditnota.",
            "da": "En SMB-kunde blev faktureret to gange for den samme ordre og ønsker en "
            "kreditnota.",
            "sv": "En SMB-kund fakturerades två gånger för samma order och vill ha en kreditnota.",
        },
    ),
    "price_list": (
        "price",
        "negative",
        "Billing",
        2,
        {
            "en": "Public sector customers say the new price list is hard to fit into their "
            "budgets.",
            "nb": "Kunder i offentlig sektor sier at den nye prislisten er vanskelig å få inn "
            "i budsjettene.",
            "da": "Kunder i den offentlige sektor siger, at den nye prisliste er svær at få "
            "ind i budgetterne.",
            "sv": "Kunder inom offentlig sektor säger att den nya prislistan är svår att få "
            "in i budgeten.",
        },
    ),
    "reorder_button": (
        "usability",
        "positive",
        "Web shop",
        1,
        {
            "en": "Customers love the new reorder button in the app; several mentioned it "
            "unprompted.",
            "nb": "Kundene elsker den nye knappen for å bestille på nytt i appen; flere "
            "nevnte den uoppfordret.",
            "da": "Kunderne elsker den nye genbestil-knap i appen; flere nævnte den uopfordret.",
            "sv": "Kunderna älskar den nya knappen för att beställa igen i appen; flera "
            "nämnde den utan att vi frågade.",
        },
    ),
    "company_cards": (
        "usability",
        "negative",
        "Web shop",
        2,
        {
            "en": "The checkout does not accept company cards with a separate billing address.",
            "nb": "Kassen godtar ikke firmakort med egen fakturaadresse.",
            "da": "Kassen accepterer ikke firmakort med en separat faktureringsadresse.",
            "sv": "Kassan godtar inte företagskort med separat fakturaadress.",
        },
    ),
    "support_hours": (
        "service",
        "negative",
        "Support",
        2,
        {
            "en": "Enterprise customers want phone support to stay open after 16:00.",
            "nb": "Bedriftskunder ønsker at telefonsupporten er åpen etter klokken 16.",
            "da": "Erhvervskunder ønsker, at telefonsupporten har åbent efter klokken 16.",
            "sv": "Företagskunder vill att telefonsupporten är öppen efter klockan 16.",
        },
    ),
    "setup_guide": (
        "communication",
        "negative",
        "Onboarding",
        2,
        {
            "en": "New customers find the setup guide outdated: the screenshots show the old menu.",
            "nb": "Nye kunder synes oppstartsguiden er utdatert: skjermbildene viser den "
            "gamle menyen.",
            "da": "Nye kunder synes, at opstartsguiden er forældet: skærmbillederne viser "
            "den gamle menu.",
            "sv": "Nya kunder tycker att startguiden är inaktuell: skärmbilderna visar den "
            "gamla menyn.",
        },
    ),
    "subscription": (
        "product",
        "neutral",
        None,
        2,
        {
            "en": "Two customers asked whether we can offer a subscription with monthly delivery.",
            "nb": "To kunder spurte om vi kan tilby et abonnement med månedlig levering.",
            "da": "To kunder spurgte, om vi kan tilbyde et abonnement med månedlig levering.",
            "sv": "Två kunder frågade om vi kan erbjuda en prenumeration med månatlig leverans.",
        },
    ),
    "product_quality": (
        "product",
        "positive",
        None,
        1,
        {
            "en": "A long-time customer said the new product line is the best quality they "
            "have had from us.",
            "nb": "En mangeårig kunde sa at den nye produktserien er den beste kvaliteten de "
            "har fått fra oss.",
            "da": "En mangeårig kunde sagde, at den nye produktserie er den bedste kvalitet, "
            "de har fået fra os.",
            "sv": "En mångårig kund sa att den nya produktserien är den bästa kvalitet de "
            "har fått från oss.",
        },
    ),
    "price_change_notice": (
        "communication",
        "negative",
        "Billing",
        2,
        {
            "en": "Customers did not know about the price change until the invoice came; we "
            "should tell them earlier.",
            "nb": "Kundene visste ikke om prisendringen før fakturaen kom; vi bør si fra "
            "tidligere.",
            "da": "Kunderne vidste ikke noget om prisændringen, før fakturaen kom; vi bør "
            "sige det tidligere.",
            "sv": "Kunderna visste inte om prisändringen förrän fakturan kom; vi borde säga "
            "till tidigare.",
        },
    ),
    "flowers": (
        "other",
        "positive",
        "Support",
        1,
        {
            "en": "A customer sent flowers to the support team after we sorted out their "
            "urgent order.",
            "nb": "En kunde sendte blomster til supportteamet etter at vi ordnet "
            "hastebestillingen deres.",
            "da": "En kunde sendte blomster til supportteamet, efter at vi havde ordnet "
            "deres hasteordre.",
            "sv": "En kund skickade blommor till supportteamet efter att vi ordnat deras "
            "brådskande order.",
        },
    ),
}

# Insight themes that make up the everyday background (the delivery dip has its own).
BACKGROUND_INSIGHTS: Final = (
    "tracking",
    "evening_slots",
    "double_invoice",
    "price_list",
    "reorder_button",
    "company_cards",
    "support_hours",
    "setup_guide",
    "subscription",
    "product_quality",
    "price_change_notice",
    "flowers",
)

PROMISES: Final = ("We keep our promises", "We make it easy", "We listen and act")

# Shout-outs: theme -> (promise, texts by the giver's language).
SHOUTOUTS: Final[dict[str, tuple[str, dict[str, str]]]] = {
    "callback": (
        "We keep our promises",
        {
            "en": "{names} called back an unhappy customer within the hour and turned the "
            "day around.",
            "nb": "{names} ringte tilbake til en misfornøyd kunde innen en time og snudde "
            "situasjonen.",
            "da": "{names} ringede tilbage til en utilfreds kunde inden for en time og "
            "fik vendt situationen.",
            "sv": "{names} ringde tillbaka till en missnöjd kund inom en timme och vände "
            "på situationen.",
        },
    ),
    "late_parcels": (
        "We keep our promises",
        {
            "en": "{names} phoned every customer with a late parcel this week and arranged "
            "a new delivery.",
            "nb": "{names} ringte alle kunder med forsinket pakke denne uken og avtalte ny "
            "levering.",
            "da": "{names} ringede til alle kunder med en forsinket pakke i denne uge og "
            "aftalte en ny levering.",
            "sv": "{names} ringde alla kunder med försenade paket den här veckan och "
            "ordnade en ny leverans.",
        },
    ),
    "saturday_courier": (
        "We keep our promises",
        {
            "en": "{names} found a courier on a Saturday so a customer's order arrived before "
            "the weekend as promised.",
            "nb": "{names} fant et bud på en lørdag, så kundens ordre kom før helgen som lovet.",
            "da": "{names} fandt et bud en lørdag, så kundens ordre kom før weekenden som lovet.",
            "sv": "{names} hittade ett bud en lördag så att kundens order kom före helgen "
            "som utlovat.",
        },
    ),
    "guide": (
        "We make it easy",
        {
            "en": "{names} rewrote the setup guide after hearing customers struggle with it.",
            "nb": "{names} skrev om oppstartsguiden etter å ha hørt at kundene slet med den.",
            "da": "{names} skrev opstartsguiden om efter at have hørt, at kunderne kæmpede "
            "med den.",
            "sv": "{names} skrev om startguiden efter att ha hört att kunderna kämpade med den.",
        },
    ),
    "invoices": (
        "We make it easy",
        {
            "en": "{names} spotted the double invoices and fixed them before customers noticed.",
            "nb": "{names} oppdaget de doble fakturaene og rettet dem før kundene merket noe.",
            "da": "{names} opdagede de dobbelte fakturaer og rettede dem, før kunderne "
            "opdagede det.",
            "sv": "{names} upptäckte de dubbla fakturorna och rättade dem innan kunderna "
            "märkte något.",
        },
    ),
    "checkout_fix": (
        "We listen and act",
        {
            "en": "{names} turned three customer complaints about the checkout into a fix "
            "in the same sprint.",
            "nb": "{names} gjorde tre kundeklager om kassen til en rettelse i samme sprint.",
            "da": "{names} gjorde tre kundeklager over kassen til en rettelse i samme sprint.",
            "sv": "{names} gjorde tre kundklagomål på kassan till en rättning i samma sprint.",
        },
    ),
    "visit": (
        "We listen and act",
        {
            "en": "{names} visited a public sector customer to understand their budget "
            "process and came back with ideas.",
            "nb": "{names} besøkte en kunde i offentlig sektor for å forstå budsjettprosessen "
            "deres og kom tilbake med ideer.",
            "da": "{names} besøgte en kunde i den offentlige sektor for at forstå deres "
            "budgetproces og kom tilbage med idéer.",
            "sv": "{names} besökte en kund inom offentlig sektor för att förstå deras "
            "budgetprocess och kom tillbaka med idéer.",
        },
    ),
}

# Shout-out themes that fit the weeks of the delivery problem.
DIP_SHOUTOUTS: Final = ("late_parcels", "saturday_courier")

AND: Final = {"en": "and", "nb": "og", "da": "og", "sv": "och"}
