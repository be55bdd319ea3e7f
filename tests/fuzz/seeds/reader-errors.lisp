(a)) (1.5) (1/2) #o2000000000000000000000 #\nosuchchar #z (b . ) ( . c) "unterminated
