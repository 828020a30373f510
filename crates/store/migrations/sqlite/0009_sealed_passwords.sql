-- Registry passwords are stored sealed (`v1:<key id>:<nonce>:<ciphertext>`, see the control
-- plane's domain/secrets.rs). The ones stored before are tagged `plain:` here, so a stored value
-- always says what it is; `wharf serve` seals them on its first start with WHARF_SECRET_KEY.
UPDATE artifactories SET password = 'plain:' || password WHERE password <> '';
