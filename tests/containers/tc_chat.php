<?php
// tc_chat.php PORT N - N chat calls with curl_exec (php-curl, as
// openai-php/Guzzle make them), one response body printed per line.
$port = (int)$argv[1];
$n = (int)$argv[2];
for ($i = 0; $i < $n; $i++) {
    $ch = curl_init("http://127.0.0.1:$port/v1/chat/completions");
    curl_setopt($ch, CURLOPT_POST, true);
    curl_setopt($ch, CURLOPT_POSTFIELDS, json_encode(
        ["model" => "php-model", "messages" => [["role" => "user", "content" => "q$i"]]]));
    curl_setopt($ch, CURLOPT_HTTPHEADER, ["Content-Type: application/json"]);
    curl_setopt($ch, CURLOPT_RETURNTRANSFER, true);
    $body = curl_exec($ch);
    if ($body === false) {
        fwrite(STDERR, curl_error($ch) . "\n");
        exit(1);
    }
    echo $body, "\n";
    curl_close($ch);
}
