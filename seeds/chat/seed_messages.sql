-- chatsite demo data: the single source of truth for `manage.py seed` and for psql.
-- Idempotent: fixed ids and ON CONFLICT DO NOTHING, so applying it twice changes nothing.
-- Works on PostgreSQL (psql -f) and on SQLite (through manage.py seed).
-- Every demo user's password is 'chatsite-demo' (manage.py seed applies SEED_PASSWORD).

INSERT INTO accounts_user (password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined, display_name, role, username_skeleton)
VALUES ('pbkdf2_sha256$1000000$chatsitedemosalt2026$5VK48IJq5AsjIYIY0ceIGWiU74dSnRm94QYNhWv1Z3U=', NULL, FALSE, 'alice', '', '', 'alice@example.com', FALSE, TRUE, '2026-11-01 08:00:00+00:00', 'Alice Archer', 'member', '2bd806c97f0e00af1a1fc3328fa763a9269723c8db8fac4f93af71db186d6e90')
ON CONFLICT DO NOTHING;

INSERT INTO accounts_user (password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined, display_name, role, username_skeleton)
VALUES ('pbkdf2_sha256$1000000$chatsitedemosalt2026$5VK48IJq5AsjIYIY0ceIGWiU74dSnRm94QYNhWv1Z3U=', NULL, FALSE, 'bob', '', '', 'bob@example.com', FALSE, TRUE, '2026-11-01 08:00:00+00:00', 'Bob Baker', 'member', '81b637d8fcd2c6da6359e6963113a1170de795e4b725b84d1e0b4cfd9ec58ce9')
ON CONFLICT DO NOTHING;

INSERT INTO accounts_user (password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined, display_name, role, username_skeleton)
VALUES ('pbkdf2_sha256$1000000$chatsitedemosalt2026$5VK48IJq5AsjIYIY0ceIGWiU74dSnRm94QYNhWv1Z3U=', NULL, FALSE, 'carol', '', '', 'carol@example.com', FALSE, TRUE, '2026-11-01 08:00:00+00:00', 'Carol Chen', 'member', '4c26d9074c27d89ede59270c0ac14b71e071b15239519f75474b2f3ba63481f5')
ON CONFLICT DO NOTHING;

INSERT INTO accounts_user (password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined, display_name, role, username_skeleton)
VALUES ('pbkdf2_sha256$1000000$chatsitedemosalt2026$5VK48IJq5AsjIYIY0ceIGWiU74dSnRm94QYNhWv1Z3U=', NULL, FALSE, 'moderator', '', '', 'moderator@example.com', TRUE, TRUE, '2026-11-01 08:00:00+00:00', 'Mo Derator', 'moderator', '1c50c4ca36ae6c735ca545f39938c578e823857b1a0adf1ca293c00d9a3b660f')
ON CONFLICT DO NOTHING;

INSERT INTO chat_channel (id, name, title, topic, is_private, created_by_id, created_at, archived_at, last_seq, trimmed_seq, kind)
SELECT 'c0000000000000000000000000000001', 'general', 'General', 'Company-wide chatter and announcements', FALSE, id, '2026-11-01 08:30:00+00:00', NULL, 10, 0, 'channel'
FROM accounts_user WHERE username = 'alice'
ON CONFLICT DO NOTHING;

INSERT INTO chat_channel (id, name, title, topic, is_private, created_by_id, created_at, archived_at, last_seq, trimmed_seq, kind)
SELECT 'c0000000000000000000000000000002', 'random', 'Random', 'Anything goes', FALSE, id, '2026-11-01 08:30:00+00:00', NULL, 0, 0, 'channel'
FROM accounts_user WHERE username = 'bob'
ON CONFLICT DO NOTHING;

INSERT INTO chat_channel (id, name, title, topic, is_private, created_by_id, created_at, archived_at, last_seq, trimmed_seq, kind)
SELECT 'c0000000000000000000000000000003', 'staff', 'Staff', 'Moderators and helpers', TRUE, id, '2026-11-01 08:30:00+00:00', NULL, 0, 0, 'channel'
FROM accounts_user WHERE username = 'moderator'
ON CONFLICT DO NOTHING;

INSERT INTO chat_membership (channel_id, user_id, role, joined_at, last_read_seq)
SELECT 'c0000000000000000000000000000001', id, 'owner', '2026-11-01 08:45:00+00:00', 0 FROM accounts_user WHERE username = 'alice'
ON CONFLICT DO NOTHING;

INSERT INTO chat_membership (channel_id, user_id, role, joined_at, last_read_seq)
SELECT 'c0000000000000000000000000000001', id, 'member', '2026-11-01 08:45:00+00:00', 0 FROM accounts_user WHERE username = 'bob'
ON CONFLICT DO NOTHING;

INSERT INTO chat_membership (channel_id, user_id, role, joined_at, last_read_seq)
SELECT 'c0000000000000000000000000000001', id, 'member', '2026-11-01 08:45:00+00:00', 0 FROM accounts_user WHERE username = 'carol'
ON CONFLICT DO NOTHING;

INSERT INTO chat_membership (channel_id, user_id, role, joined_at, last_read_seq)
SELECT 'c0000000000000000000000000000001', id, 'member', '2026-11-01 08:45:00+00:00', 0 FROM accounts_user WHERE username = 'moderator'
ON CONFLICT DO NOTHING;

INSERT INTO chat_membership (channel_id, user_id, role, joined_at, last_read_seq)
SELECT 'c0000000000000000000000000000002', id, 'owner', '2026-11-01 08:45:00+00:00', 0 FROM accounts_user WHERE username = 'bob'
ON CONFLICT DO NOTHING;

INSERT INTO chat_membership (channel_id, user_id, role, joined_at, last_read_seq)
SELECT 'c0000000000000000000000000000002', id, 'member', '2026-11-01 08:45:00+00:00', 0 FROM accounts_user WHERE username = 'alice'
ON CONFLICT DO NOTHING;

INSERT INTO chat_membership (channel_id, user_id, role, joined_at, last_read_seq)
SELECT 'c0000000000000000000000000000002', id, 'member', '2026-11-01 08:45:00+00:00', 0 FROM accounts_user WHERE username = 'carol'
ON CONFLICT DO NOTHING;

INSERT INTO chat_membership (channel_id, user_id, role, joined_at, last_read_seq)
SELECT 'c0000000000000000000000000000003', id, 'owner', '2026-11-01 08:45:00+00:00', 0 FROM accounts_user WHERE username = 'moderator'
ON CONFLICT DO NOTHING;

INSERT INTO chat_membership (channel_id, user_id, role, joined_at, last_read_seq)
SELECT 'c0000000000000000000000000000003', id, 'member', '2026-11-01 08:45:00+00:00', 0 FROM accounts_user WHERE username = 'alice'
ON CONFLICT DO NOTHING;

INSERT INTO chat_message (id, channel_id, user_id, content, created_at, edited_at, deleted_at, seq, change_seq, client_id)
SELECT 'a0000000000000000000000000000001', 'c0000000000000000000000000000001', id, 'Welcome to chatsite! This is #general, where everyone hangs out.', '2026-11-01 09:01:00+00:00', NULL, NULL, 1, 1, NULL
FROM accounts_user WHERE username = 'alice'
ON CONFLICT DO NOTHING;

INSERT INTO chat_message (id, channel_id, user_id, content, created_at, edited_at, deleted_at, seq, change_seq, client_id)
SELECT 'a0000000000000000000000000000002', 'c0000000000000000000000000000001', id, 'Hi Alice! Glad to be here.', '2026-11-01 09:02:00+00:00', NULL, NULL, 2, 2, NULL
FROM accounts_user WHERE username = 'bob'
ON CONFLICT DO NOTHING;

INSERT INTO chat_message (id, channel_id, user_id, content, created_at, edited_at, deleted_at, seq, change_seq, client_id)
SELECT 'a0000000000000000000000000000003', 'c0000000000000000000000000000001', id, 'Morning all. Is the release still planned for Friday?', '2026-11-01 09:03:00+00:00', NULL, NULL, 3, 3, NULL
FROM accounts_user WHERE username = 'carol'
ON CONFLICT DO NOTHING;

INSERT INTO chat_message (id, channel_id, user_id, content, created_at, edited_at, deleted_at, seq, change_seq, client_id)
SELECT 'a0000000000000000000000000000004', 'c0000000000000000000000000000001', id, 'Yes, Friday it is. Release notes are in the wiki.', '2026-11-01 09:04:00+00:00', NULL, NULL, 4, 4, NULL
FROM accounts_user WHERE username = 'alice'
ON CONFLICT DO NOTHING;

INSERT INTO chat_message (id, channel_id, user_id, content, created_at, edited_at, deleted_at, seq, change_seq, client_id)
SELECT 'a0000000000000000000000000000005', 'c0000000000000000000000000000001', id, 'Reminder: be kind, and keep work topics in their channels.', '2026-11-01 09:05:00+00:00', NULL, NULL, 5, 5, NULL
FROM accounts_user WHERE username = 'moderator'
ON CONFLICT DO NOTHING;

INSERT INTO chat_message (id, channel_id, user_id, content, created_at, edited_at, deleted_at, seq, change_seq, client_id)
SELECT 'a0000000000000000000000000000006', 'c0000000000000000000000000000001', id, 'Who''s up for lunch at 12:30?', '2026-11-01 09:06:00+00:00', NULL, NULL, 6, 6, NULL
FROM accounts_user WHERE username = 'bob'
ON CONFLICT DO NOTHING;

INSERT INTO chat_message (id, channel_id, user_id, content, created_at, edited_at, deleted_at, seq, change_seq, client_id)
SELECT 'a0000000000000000000000000000007', 'c0000000000000000000000000000001', id, 'Count me in.', '2026-11-01 09:07:00+00:00', NULL, NULL, 7, 7, NULL
FROM accounts_user WHERE username = 'carol'
ON CONFLICT DO NOTHING;

INSERT INTO chat_message (id, channel_id, user_id, content, created_at, edited_at, deleted_at, seq, change_seq, client_id)
SELECT 'a0000000000000000000000000000008', 'c0000000000000000000000000000001', id, 'Me too. Let''s meet at the lobby.', '2026-11-01 09:08:00+00:00', NULL, NULL, 8, 8, NULL
FROM accounts_user WHERE username = 'alice'
ON CONFLICT DO NOTHING;

INSERT INTO chat_message (id, channel_id, user_id, content, created_at, edited_at, deleted_at, seq, change_seq, client_id)
SELECT 'a0000000000000000000000000000009', 'c0000000000000000000000000000001', id, 'Tip: press Shift+Enter for a new line, Enter to send.', '2026-11-01 09:09:00+00:00', NULL, NULL, 9, 9, NULL
FROM accounts_user WHERE username = 'bob'
ON CONFLICT DO NOTHING;

INSERT INTO chat_message (id, channel_id, user_id, content, created_at, edited_at, deleted_at, seq, change_seq, client_id)
SELECT 'a0000000000000000000000000000010', 'c0000000000000000000000000000001', id, 'See you all there!', '2026-11-01 09:10:00+00:00', NULL, NULL, 10, 10, NULL
FROM accounts_user WHERE username = 'carol'
ON CONFLICT DO NOTHING;

-- Direct messages: alice and bob, and alice, bob and carol. A direct message's name is "dm."
-- and the hex of its id; dm_key holds its members' ids in ascending order (docs/architecture.md).
INSERT INTO chat_channel (id, name, title, topic, is_private, created_by_id, created_at, archived_at, last_seq, trimmed_seq, kind, dm_key)
SELECT 'd0000000000000000000000000000001', 'dm.d0000000000000000000000000000001', '', '', TRUE, id, '2026-11-01 10:00:00+00:00', NULL, 3, 0, 'dm', (SELECT CAST(MIN(id) AS TEXT) || ',' || CAST(MAX(id) AS TEXT) FROM accounts_user WHERE username IN ('alice', 'bob'))
FROM accounts_user WHERE username = 'alice'
ON CONFLICT DO NOTHING;

INSERT INTO chat_channel (id, name, title, topic, is_private, created_by_id, created_at, archived_at, last_seq, trimmed_seq, kind, dm_key)
SELECT 'd0000000000000000000000000000002', 'dm.d0000000000000000000000000000002', '', '', TRUE, id, '2026-11-01 11:00:00+00:00', NULL, 2, 0, 'dm', (SELECT CAST(MIN(id) AS TEXT) || ',' || CAST(SUM(id) - MIN(id) - MAX(id) AS TEXT) || ',' || CAST(MAX(id) AS TEXT) FROM accounts_user WHERE username IN ('alice', 'bob', 'carol'))
FROM accounts_user WHERE username = 'carol'
ON CONFLICT DO NOTHING;

INSERT INTO chat_membership (channel_id, user_id, role, joined_at, last_read_seq)
SELECT 'd0000000000000000000000000000001', id, 'member', '2026-11-01 10:00:00+00:00', 0 FROM accounts_user WHERE username = 'alice'
ON CONFLICT DO NOTHING;

INSERT INTO chat_membership (channel_id, user_id, role, joined_at, last_read_seq)
SELECT 'd0000000000000000000000000000001', id, 'member', '2026-11-01 10:00:00+00:00', 0 FROM accounts_user WHERE username = 'bob'
ON CONFLICT DO NOTHING;

INSERT INTO chat_membership (channel_id, user_id, role, joined_at, last_read_seq)
SELECT 'd0000000000000000000000000000002', id, 'member', '2026-11-01 10:00:00+00:00', 0 FROM accounts_user WHERE username = 'alice'
ON CONFLICT DO NOTHING;

INSERT INTO chat_membership (channel_id, user_id, role, joined_at, last_read_seq)
SELECT 'd0000000000000000000000000000002', id, 'member', '2026-11-01 10:00:00+00:00', 0 FROM accounts_user WHERE username = 'bob'
ON CONFLICT DO NOTHING;

INSERT INTO chat_membership (channel_id, user_id, role, joined_at, last_read_seq)
SELECT 'd0000000000000000000000000000002', id, 'member', '2026-11-01 10:00:00+00:00', 0 FROM accounts_user WHERE username = 'carol'
ON CONFLICT DO NOTHING;

INSERT INTO chat_message (id, channel_id, user_id, content, created_at, edited_at, deleted_at, seq, change_seq, client_id)
SELECT 'b0000000000000000000000000000001', 'd0000000000000000000000000000001', id, 'Bob, do you have a minute for the release notes?', '2026-11-01 10:01:00+00:00', NULL, NULL, 1, 1, NULL
FROM accounts_user WHERE username = 'alice'
ON CONFLICT DO NOTHING;

INSERT INTO chat_message (id, channel_id, user_id, content, created_at, edited_at, deleted_at, seq, change_seq, client_id)
SELECT 'b0000000000000000000000000000002', 'd0000000000000000000000000000001', id, 'Sure, after standup.', '2026-11-01 10:02:00+00:00', NULL, NULL, 2, 2, NULL
FROM accounts_user WHERE username = 'bob'
ON CONFLICT DO NOTHING;

INSERT INTO chat_message (id, channel_id, user_id, content, created_at, edited_at, deleted_at, seq, change_seq, client_id)
SELECT 'b0000000000000000000000000000003', 'd0000000000000000000000000000001', id, 'Thanks!', '2026-11-01 10:03:00+00:00', NULL, NULL, 3, 3, NULL
FROM accounts_user WHERE username = 'alice'
ON CONFLICT DO NOTHING;

INSERT INTO chat_message (id, channel_id, user_id, content, created_at, edited_at, deleted_at, seq, change_seq, client_id)
SELECT 'b0000000000000000000000000000004', 'd0000000000000000000000000000002', id, 'Lunch on Friday, the three of us?', '2026-11-01 11:01:00+00:00', NULL, NULL, 1, 1, NULL
FROM accounts_user WHERE username = 'carol'
ON CONFLICT DO NOTHING;

INSERT INTO chat_message (id, channel_id, user_id, content, created_at, edited_at, deleted_at, seq, change_seq, client_id)
SELECT 'b0000000000000000000000000000005', 'd0000000000000000000000000000002', id, 'Count me in.', '2026-11-01 11:02:00+00:00', NULL, NULL, 2, 2, NULL
FROM accounts_user WHERE username = 'bob'
ON CONFLICT DO NOTHING;
