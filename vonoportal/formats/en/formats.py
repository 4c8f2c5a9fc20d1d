# Unambiguous for English readers in Brazil: ISO dates, 24-hour clock, to the second.
DATETIME_FORMAT = "Y-m-d H:i:s"
SHORT_DATE_FORMAT = "Y-m-d"
