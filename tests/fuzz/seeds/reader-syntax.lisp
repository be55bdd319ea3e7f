; Every reader syntax once (docs/language.md, "Source syntax").
#| block #| nested |# comment |#
#;(commented out) (a . b) (1 2 . 3) '(q) `(a ,b ,@c) #'f #:g |Mixed Case|
#x1F #XfF #b101 #o17 0x1F 10. 1_000_000 -7 #\A #\space #\newline #\tab #\nul
"str \" \\ \n \t \r \0" :keyword XDP_PASS
