"""The one complete webhook body Flashduty documents, byte for byte (flashduty.md §1)."""

# Kept verbatim, line breaks included: the parser must take what Flashduty shows.
DOCUMENTED_EXAMPLE: bytes = b'''{"event_id":"fac0599a2a25529ba2362c0c184b6cfb","event_time":1689335086948,"event_type":"i_new",
 "incident":{"ack_time":0,"alert_cnt":0,"channel_id":1840312623504,"channel_name":"Reduce Noise",
  "close_time":0,"created_at":1689335086,
  "creator":{"email":"toutie@flashcat.cloud","person_id":1552048792504,"person_name":"TouTie"},
  "description":"","detail_url":"http://10.206.0.17:8567/incident/detail/64b1352e376e32c85c56e25b",
  "end_time":0,"group_method":"n","incident_id":"64b1352e376e32c85c56e25b",
  "incident_severity":"Critical","incident_status":"Critical","labels":{"check":"cpu idle low"},
  "last_time":1689335086,"num":"56E25B","progress":"Triggered",
  "responders":[{"acknowledged_at":0,"assigned_at":1689335086,"email":"toutie@flashcat.cloud",
    "person_id":1552048792504,"person_name":"TouTie"}],
  "start_time":1689335086,"title":"ysy028","updated_at":1689335086},
 "person":{"email":"toutie@flashcat.cloud","person_id":1552048792504,"person_name":"TouTie"}}'''
