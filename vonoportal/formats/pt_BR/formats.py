# Calls are listed to the second: dd/mm/aaaa HH:MM:SS.
DATETIME_FORMAT = "d/m/Y H:i:s"
SHORT_DATE_FORMAT = "d/m/Y"
