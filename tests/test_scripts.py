"""Articles in many scripts: extraction, sentences, language, words and linking.

The fixtures are short invented news items, two per language, each paragraph a list of its
sentences (Chinese and Japanese sentences are joined without spaces, as they are written).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from archive.commands.ingest import ingest
from archive.sources.textdump import extract_text
from archive.storage.models import Version
from archive.text import align, terms
from archive.text.language import detect_language


@dataclass(frozen=True)
class Story:
    title: str
    paragraphs: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Language:
    code: str
    joiner: str  # between the sentences of a paragraph
    menu: tuple[str, str]  # two sites' menu lines
    footer: tuple[str, str]  # two sites' footer lines
    first: Story
    second: Story


LANGUAGES = [
    Language(
        "es",
        " ",
        ("Inicio | Nacional | Economía | Deportes | Opinión", "Portada | Mundo | España | Cultura"),
        ("Compartir | Facebook | X | Correo", "© 2024 Diario del Sur. Todos los derechos."),
        Story(
            "Las lluvias obligan a evacuar tres pueblos del valle del Ebro",
            (
                (
                    "Más de dos mil vecinos del valle del Ebro pasaron la noche del martes en "
                    "pabellones municipales.",
                    "Él río superó los seis metros en Tudela a primera hora.",
                ),
                (
                    "¿Cuánto tiempo durará la crecida?",
                    "Los técnicos de la confederación hidrográfica calculan que el caudal "
                    "bajará a partir del jueves.",
                ),
                (
                    "La alcaldesa de Cortes, Inmaculada Ferrer, pidió a los agricultores que no "
                    "se acerquen a las acequias desbordadas.",
                    "Varias carreteras comarcales siguen cortadas.",
                ),
                (
                    "El gobierno regional activó el nivel dos del plan de emergencias y envió "
                    "cuarenta bomberos a la zona.",
                ),
            ),
        ),
        Story(
            "Una cooperativa de Jaén exportará aceite ecológico a Japón",
            (
                (
                    "La cooperativa Olivares de Mágina firmó el lunes un contrato con una "
                    "cadena de supermercados de Osaka.",
                    "Enviará doscientas toneladas de aceite ecológico cada año.",
                ),
                (
                    "Su presidente, Tomás Villalobos, explicó que la cosecha de este invierno "
                    "ha sido la mejor desde hace una década.",
                ),
                (
                    "Los socios votaron la operación en una asamblea celebrada en Bedmar con "
                    "casi cuatrocientos asistentes.",
                ),
                (
                    "Los primeros contenedores saldrán del puerto de Algeciras en marzo, según "
                    "la empresa.",
                ),
            ),
        ),
    ),
    Language(
        "ru",
        " ",
        ("Главная | Политика | Экономика | Спорт | Культура", "Новости | Регионы | Общество"),
        ("Поделиться | ВКонтакте | Телеграм", "© 2024 Северный вестник. Все права защищены."),
        Story(
            "В Архангельске открыли новый мост через Северную Двину",
            (
                (
                    "Во вторник в Архангельске торжественно открыли движение по новому мосту "
                    "через Северную Двину.",
                    "Строительство продолжалось четыре года.",
                ),
                (
                    "Губернатор области Игорь Суханов заявил, что мост сократит путь из "
                    "Соломбалы в центр города вдвое.",
                ),
                (
                    "Длина перехода составляет почти полтора километра, по нему пустят два "
                    "автобусных маршрута.",
                    "Пешеходная часть откроется весной.",
                ),
                (
                    "Жители правобережья много лет добивались строительства второго моста и "
                    "собирали подписи.",
                ),
            ),
        ),
        Story(
            "Школьники из Твери победили на олимпиаде по астрономии",
            (
                (
                    "Команда тверского лицея номер семь заняла первое место на международной "
                    "олимпиаде по астрономии в Казани.",
                    "Ребята обошли соперников из девяти стран.",
                ),
                (
                    "Руководитель команды Марина Лебедева рассказала, что к соревнованию "
                    "готовились каждый вечер в обсерватории лицея.",
                ),
                (
                    "Самое сложное задание касалось расчёта орбиты кометы, и его решил только "
                    "десятиклассник Артём Зуев.",
                ),
                (
                    "Победители получат гранты на обучение и поездку в обсерваторию на Кавказе "
                    "летом.",
                ),
            ),
        ),
    ),
    Language(
        "el",
        " ",
        ("Αρχική | Πολιτική | Οικονομία | Αθλητισμός", "Ειδήσεις | Κόσμος | Ελλάδα | Πολιτισμός"),
        ("Κοινοποίηση | Facebook | Email", "© 2024 Εφημερίδα Νότου. Με επιφύλαξη παντός."),
        Story(
            "Νέο λιμάνι για τα κρουαζιερόπλοια στο Ηράκλειο",
            (
                (
                    "Το δημοτικό συμβούλιο του Ηρακλείου ενέκρινε την Τετάρτη την επέκταση του "
                    "λιμανιού για τα κρουαζιερόπλοια.",
                    "Τα έργα θα ξεκινήσουν το φθινόπωρο.",
                ),
                (
                    "Ο δήμαρχος Αλέξης Καλοκαιρινός δήλωσε ότι η νέα προβλήτα θα δέχεται δύο "
                    "μεγάλα πλοία ταυτόχρονα.",
                ),
                (
                    "Οι επαγγελματίες της παλιάς πόλης ζητούν περισσότερα λεωφορεία από το "
                    "λιμάνι προς το κέντρο.",
                ),
                (
                    "Το κόστος του έργου υπολογίζεται σε σαράντα εκατομμύρια ευρώ από "
                    "ευρωπαϊκά κονδύλια.",
                ),
            ),
        ),
        Story(
            "Βρέθηκε αρχαίο ψηφιδωτό κάτω από σχολείο στη Λάρισα",
            (
                (
                    "Εργάτες που έσκαβαν για τα θεμέλια ενός γυμνασίου στη Λάρισα εντόπισαν "
                    "ρωμαϊκό ψηφιδωτό.",
                    "Οι εργασίες σταμάτησαν αμέσως.",
                ),
                (
                    "Η εφορεία αρχαιοτήτων εκτιμά ότι το δάπεδο ανήκε σε πλούσια κατοικία του "
                    "δεύτερου αιώνα.",
                ),
                (
                    "Η αρχαιολόγος Σοφία Παπαδημητρίου είπε ότι οι μορφές των ψαριών σώζονται "
                    "σε εξαιρετική κατάσταση.",
                ),
                (
                    "Το υπουργείο Πολιτισμού θα αποφασίσει αν το ψηφιδωτό θα μεταφερθεί στο "
                    "μουσείο της πόλης.",
                ),
            ),
        ),
    ),
    Language(
        "ar",
        " ",
        ("الرئيسية | سياسة | اقتصاد | رياضة | ثقافة", "أخبار | العالم | المنطقة | منوعات"),
        ("شارك | فيسبوك | البريد", "© 2024 صحيفة الساحل. جميع الحقوق محفوظة."),
        Story(
            "افتتاح محطة جديدة لتحلية مياه البحر في صور",
            (
                (
                    "افتتحت وزارة الطاقة يوم الأحد محطة جديدة لتحلية مياه البحر في مدينة صور.",
                    "وتنتج المحطة عشرين ألف متر مكعب يوميا.",
                ),
                (
                    "وقال المهندس سامر الحلبي إن المحطة ستغطي حاجة ثلاثين قرية في الجنوب خلال "
                    "أشهر الصيف.",
                ),
                (
                    "هل تكفي هذه الكمية لسد العجز المزمن في المياه الذي تعانيه المنطقة منذ "
                    "سنوات طويلة؟",
                ),
                (
                    "وأكد رئيس البلدية أن العمل بدأ على شبكة أنابيب جديدة تربط المحطة بالخزانات "
                    "الرئيسية.",
                ),
            ),
        ),
        Story(
            "مهرجان للكتاب في الإسكندرية يستقبل مئة ألف زائر",
            (
                (
                    "استقبل مهرجان الإسكندرية للكتاب أكثر من مئة ألف زائر في أسبوعه الأول.",
                    "وشاركت فيه دور نشر من اثنتي عشرة دولة.",
                ),
                (
                    "وقالت مديرة المهرجان نادية منصور إن قسم كتب الأطفال شهد إقبالا غير مسبوق "
                    "هذا العام.",
                ),
                ("ونظمت المكتبة ندوات مسائية عن الترجمة والرواية التاريخية حضرها طلاب الجامعات.",),
                ("ويستمر المهرجان حتى نهاية الشهر، على أن تخصص أيامه الأخيرة للشعر والمسرح.",),
            ),
        ),
    ),
    Language(
        "he",
        " ",
        ("ראשי | חדשות | כלכלה | ספורט | תרבות", "חדשות | העולם | הארץ | דעות"),
        ("שתפו | פייסבוק | דואר", "© 2024 עיתון הצפון. כל הזכויות שמורות."),
        Story(
            "קו רכבת חדש יחבר את עפולה לטבריה",
            (
                (
                    "משרד התחבורה אישר ביום שני את התוכנית לקו רכבת חדש בין עפולה לטבריה.",
                    "העבודות צפויות להימשך חמש שנים.",
                ),
                ("ראש העירייה רונית אלמוג אמרה שהקו יקצר את הנסיעה לחיפה בכמעט שעה לכל כיוון.",),
                (
                    "התושבים בעמק יזרעאל ביקשו שתיבנה גם תחנה ליד המועצה האזורית.",
                    "הבקשה תיבחן בחודש הבא.",
                ),
                ("עלות הפרויקט מוערכת בשלושה מיליארד שקלים והיא תמומן מתקציב המדינה.",),
            ),
        ),
        Story(
            "חוקרים בבאר שבע פיתחו חיישן שמזהה דליפות מים",
            (
                (
                    "צוות חוקרים מאוניברסיטת בן גוריון פיתח חיישן זול שמזהה דליפות בצנרת עירונית.",
                    "החיישן נוסה בשלוש ערים.",
                ),
                ("לדברי החוקר הראשי אמיר שושן, המערכת חסכה לעירייה מאות אלפי קוב מים בשנה.",),
                ("החיישן מודד רעידות זעירות בצינור ושולח התראה לטלפון של הטכנאי התורן.",),
                ("חברת המים העירונית מתכננת להתקין אלף חיישנים כאלה עד סוף השנה הבאה.",),
            ),
        ),
    ),
    Language(
        "hi",
        " ",
        ("होम | देश | राजनीति | खेल | मनोरंजन", "मुख्य समाचार | दुनिया | राज्य | व्यापार"),
        ("शेयर करें | फेसबुक | ईमेल", "© 2024 उत्तर समाचार। सर्वाधिकार सुरक्षित।"),
        Story(
            "जयपुर में नई मेट्रो लाइन का काम शुरू",
            (
                (
                    "जयपुर में मंगलवार को मेट्रो की दूसरी लाइन का निर्माण कार्य औपचारिक रूप से शुरू हुआ।",
                    "यह लाइन सीतापुरा से अंबाबाड़ी तक जाएगी।",
                ),
                ("परियोजना निदेशक सुनीता राठौड़ ने बताया कि पहला चरण तीन साल में पूरा होगा।",),
                (
                    "शहर के व्यापारियों ने निर्माण के दौरान यातायात की समस्या को लेकर चिंता जताई।",
                    "प्रशासन ने वैकल्पिक मार्ग तय किए हैं।",
                ),
                ("इस लाइन पर कुल बीस स्टेशन बनाए जाएंगे और रोज़ दो लाख यात्री सफ़र करेंगे।",),
            ),
        ),
        Story(
            "पुणे के किसान ने बनाया सौर ऊर्जा से चलने वाला पंप",
            (
                (
                    "पुणे ज़िले के एक किसान ने कबाड़ के सामान से सौर ऊर्जा से चलने वाला सिंचाई पंप बनाया है।",
                    "इसकी लागत केवल आठ हज़ार रुपये है।",
                ),
                ("गणेश पाटिल ने बताया कि बिजली कटौती से परेशान होकर उन्होंने यह प्रयोग किया।",),
                ("कृषि विश्वविद्यालय के वैज्ञानिकों ने पंप की जांच की और इसे उपयोगी बताया।",),
                ("आसपास के गांवों के पचास से अधिक किसान अब ऐसा ही पंप बनवाना चाहते हैं।",),
            ),
        ),
    ),
    Language(
        "zh",
        "",
        ("首页 | 国内 | 国际 | 财经 | 体育", "新闻 | 社会 | 科技 | 文化 | 评论"),
        ("分享到 | 微博 | 微信", "© 2024 南方晨报 版权所有"),
        Story(
            "东江市暴雨致三千居民紧急转移",
            (
                (
                    "受持续强降雨影响，东江市周二凌晨启动防汛一级应急响应。",
                    "全市共有三千多名居民被紧急转移到安全地带。",
                ),
                (
                    "市应急管理局局长林海涛表示，城区部分低洼路段积水超过一米，"
                    "多条公交线路临时停运。",
                ),
                ("气象部门预计，未来两天降雨仍将持续！", "市民应尽量减少外出。"),
                ("目前全市中小学已停课，救援队伍正在河堤沿线巡查险情，暂无人员伤亡报告。",),
            ),
        ),
        Story(
            "西岭古镇修复百年戏台重新开放",
            (
                (
                    "经过两年的修缮，西岭古镇的百年戏台本周末重新向游客开放。",
                    "首场演出吸引了上千名观众。",
                ),
                ("古镇管委会主任陈秀兰介绍，修复工作尽量保留了原有的木雕和彩绘。",),
                ("当地剧团在开放当天演出了传统川剧，许多老人专程从外地赶来观看。",),
                ("管委会计划每月举办两场免费演出，并开设戏曲体验课程。",),
            ),
        ),
    ),
    Language(
        "ja",
        "",
        ("ホーム | 国内 | 国際 | 経済 | スポーツ", "ニュース | 社会 | 政治 | 文化 | 地域"),
        ("シェアする | フェイスブック | メール", "© 2024 北海日報 無断転載を禁じます"),
        Story(
            "函館で新しい路面電車の車両が運行開始",
            (
                (
                    "函館市は月曜日、新しい低床型の路面電車の運行を始めた。",
                    "車いすでも乗り降りしやすい設計になっている。",
                ),
                ("市交通局の佐藤美咲課長によると、今年度中にさらに二両を導入する予定だという。",),
                ("初日は多くの鉄道ファンが駅に集まり、写真を撮る姿が見られた。",),
                ("市は観光客の増加に合わせて、夏の間は運行本数を増やすことも検討している。",),
            ),
        ),
        Story(
            "長野の高校生がリンゴの新品種を開発",
            (
                (
                    "長野県の農業高校の生徒たちが、暑さに強いリンゴの新品種を開発した。",
                    "十年かけて交配を続けてきた成果だ。",
                ),
                ("指導した山本健一教諭は、生徒たちの粘り強い観察が実を結んだと話している。",),
                ("新品種は甘みが強く、日持ちが良いのが特徴で、地元の直売所で販売される。",),
                ("県は品種登録を進め、将来は全国の農家に苗木を配る計画だ。",),
            ),
        ),
    ),
    Language(
        "ko",
        " ",
        ("홈 | 정치 | 경제 | 사회 | 스포츠", "뉴스 | 국제 | 지역 | 문화 | 오피니언"),
        ("공유하기 | 페이스북 | 이메일", "© 2024 남해일보. 무단 전재 및 재배포 금지."),
        Story(
            "부산 해운대에 새 해양 박물관 문 열어",
            (
                (
                    "부산 해운대구에 새로운 해양 박물관이 화요일 정식으로 문을 열었다.",
                    "개관 첫날에만 오천 명이 넘는 관람객이 찾았다.",
                ),
                ("김민지 관장은 어린이를 위한 체험 공간을 크게 늘렸다고 설명했다.",),
                ("박물관에는 조선 시대 선박 모형과 심해 생물 표본 수백 점이 전시되어 있다.",),
                ("구청은 주말마다 박물관과 해변을 잇는 무료 셔틀버스를 운행할 계획이다.",),
            ),
        ),
        Story(
            "전주 한옥마을 주민들 전통 장터 되살려",
            (
                (
                    "전주 한옥마을 주민들이 사라졌던 전통 장터를 오십 년 만에 다시 열었다.",
                    "장터는 매달 첫째 토요일에 열린다.",
                ),
                ("주민 대표 박성호 씨는 마을 어르신들의 기억을 모아 장터를 복원했다고 말했다.",),
                ("첫 장터에서는 직접 만든 한지와 떡, 나물 등이 판매되어 큰 인기를 끌었다.",),
                ("시는 장터가 자리를 잡으면 관광 상품으로 홍보할 예정이라고 밝혔다.",),
            ),
        ),
    ),
]
IDS = [language.code for language in LANGUAGES]


def paragraph_texts(language: Language, story: Story) -> list[str]:
    return [language.joiner.join(sentences) for sentences in story.paragraphs]


def page(language: Language, story: Story, site: int = 0) -> str:
    """A page dump: menus, the headline, a date line, the paragraphs, footer chrome."""
    header = [language.menu[site], language.menu[1 - site], story.title, "2024-05-09 10:30"]
    footer = [language.footer[site], language.footer[1 - site]]
    body = "\n\n".join(paragraph_texts(language, story))
    return "\n".join([*header, "", body, "", *footer]) + "\n"


@pytest.mark.parametrize("language", LANGUAGES, ids=IDS)
def test_a_page_dump_gives_the_headline_and_the_paragraphs(language: Language) -> None:
    for story in (language.first, language.second):
        for site in (0, 1):
            article = extract_text(page(language, story, site))
            assert article.title == story.title
            assert article.body.split("\n\n") == paragraph_texts(language, story)


@pytest.mark.parametrize("language", LANGUAGES, ids=IDS)
def test_paragraphs_split_into_their_sentences(language: Language) -> None:
    for story in (language.first, language.second):
        for paragraph, expected in zip(
            paragraph_texts(language, story), story.paragraphs, strict=True
        ):
            found = terms.sentences(paragraph, language.code)
            assert found == [terms.normalise_text(s) for s in expected]


@pytest.mark.parametrize("language", LANGUAGES, ids=IDS)
def test_the_language_is_detected(language: Language) -> None:
    for story in (language.first, language.second):
        body = "\n\n".join(paragraph_texts(language, story))
        assert detect_language(body) == language.code
        assert terms.analyse(body).language == language.code


def test_english_is_english_and_short_or_unknown_text_is_unsure() -> None:
    english = (
        "The council said on Tuesday that the new bridge would open in the spring, and that "
        "the old one would be closed for repairs after it had been inspected by engineers."
    )
    assert detect_language(english) == "en"
    assert detect_language("12:30 GMT") is None
    thai = "รัฐบาลประกาศเมื่อวันอังคารว่าจะขึ้นภาษีเหล็กนำเข้าหลังการเจรจากับสหภาพแรงงานล้มเหลว"
    assert detect_language(thai) is None  # wordfreq has no Thai table: weighed as English


def test_indic_words_keep_their_vowel_signs() -> None:
    assert terms.words("परियोजना निदेशक सुनीता") == ["परियोजना", "निदेशक", "सुनीता"]
    assert terms.words("பள்ளி மாணவர்கள்") == ["பள்ளி", "மாணவர்கள்"]


def test_chinese_and_japanese_runs_become_bigrams() -> None:
    assert terms.words("东江市暴雨") == ["东江", "江市", "市暴", "暴雨"]
    assert terms.words("雨。iPhone用の") == ["雨", "iphone", "用の"]
    assert terms.words("부산 해운대에") == ["부산", "해운대에"]  # Hangul is spaced


def test_rarity_comes_from_the_texts_language() -> None:
    assert terms.rarity("правительство", "ru") < 3 < terms.rarity("правительство")
    assert terms.rarity("the") == terms.rarity("the", "en") == 0.0
    # a language wordfreq lacks falls back to English
    assert terms.rarity("the", "th") == 0.0


def test_profiles_in_two_languages_compare_symmetrically() -> None:
    russian = "\n\n".join(paragraph_texts(LANGUAGES[1], LANGUAGES[1].first))
    a = align.profile(russian)
    b = align.lazy_profile(russian, language="uk")
    assert a.language == "ru" and b.language == "uk"
    assert align.overlap(a, b) == align.overlap(b, a)
    assert align.correspondence(a, b) == align.correspondence(b, a)
    assert align.overlap_ceiling(a, set(b.weights)) >= align.overlap(a, b)
    assert align.overlap_ceiling(b, set(a.weights)) >= align.overlap(b, a)


def story_of(engine: Engine, path: Path) -> int:
    with Session(engine) as session:
        return session.scalars(
            select(Version.story_id).where(Version.source_path == str(path))
        ).one()


def ingest_pages(engine: Engine, folder: Path, pages: dict[str, str]) -> dict[str, int]:
    """Each page's story after ingesting them all."""
    for name, text in pages.items():
        (folder / name).write_text(text, encoding="utf-8")
    report = ingest([str(folder / name) for name in pages], engine)
    assert report.failed == 0
    return {name: story_of(engine, folder / name) for name in pages}


@pytest.mark.parametrize("language", LANGUAGES, ids=IDS)
def test_a_copy_in_other_chrome_joins_its_story_and_another_story_does_not(
    language: Language, engine: Engine, tmp_path: Path
) -> None:
    stories = ingest_pages(
        engine,
        tmp_path,
        {
            "original.txt": page(language, language.first, 0),
            "copy.txt": page(language, language.first, 1),
            "other.txt": page(language, language.second, 0),
            "other-copy.txt": page(language, language.second, 1),
        },
    )
    assert stories["copy.txt"] == stories["original.txt"]
    assert stories["other-copy.txt"] == stories["other.txt"] != stories["original.txt"]


@pytest.mark.parametrize(
    "language",
    LANGUAGES,
    ids=IDS,
)
def test_an_edited_copy_joins_its_story(language: Language, engine: Engine, tmp_path: Path) -> None:
    first = language.first
    trimmed = Story(first.title, first.paragraphs[:-1])  # the last paragraph cut
    stories = ingest_pages(
        engine,
        tmp_path,
        {
            "original.txt": page(language, first, 0),
            "trimmed.txt": page(language, trimmed, 1),
            "other.txt": page(language, language.second, 1),
        },
    )
    assert stories["trimmed.txt"] == stories["original.txt"] != stories["other.txt"]


@pytest.mark.parametrize("language", LANGUAGES, ids=IDS)
def test_an_edited_copy_is_verified_as_a_near_copy(language: Language) -> None:
    first = language.first
    whole = align.profile("\n\n".join(paragraph_texts(language, first)))
    trimmed = align.profile("\n\n".join(paragraph_texts(language, first)[:-1]))
    other = align.profile("\n\n".join(paragraph_texts(language, language.second)))
    assert align.overlap(whole, trimmed) >= 0.5
    assert align.overlap(whole, other) < 0.2


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_words_are_never_empty_and_tokenising_is_deterministic(text: str) -> None:
    found = terms.words(text)
    assert all(found)
    assert terms.words(text) == found
    assert align.distinct_words(text) == set(found)
