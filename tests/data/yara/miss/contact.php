<?php
// An ordinary form handler: reads request data, escapes it, never evaluates it.
$name = isset($_POST['name']) ? htmlspecialchars($_POST['name'], ENT_QUOTES, 'UTF-8') : '';
$page = (int)($_GET['page'] ?? 1);
echo "<p>Thank you, {$name}. Page {$page}.</p>";
$escaped = escapeshellarg($name);
