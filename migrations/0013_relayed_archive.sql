-- Every message the relay sent is stored in the threads (email_messages, as
-- outbound), not only once a reply refers to it. `archived` marks queue rows
-- the archiver has handled: stored once a recipient was sent, or passed over
-- when every recipient ended without a send. Rows from before this migration
-- start unarchived and are stored by the archiver in the background.

ALTER TABLE email_queue ADD COLUMN archived boolean NOT NULL DEFAULT false;
CREATE INDEX email_queue_unarchived ON email_queue (created_at) WHERE NOT archived;
