;;;; The packet library: protocol constants, header accessors and the with-*
;;;; and parse-* forms, written in Whistler. Reads through header pointers are
;;;; bounds-checked by the compiler; the forms here add the checks that decide
;;;; what a program does with short or foreign packets.

(in-package #:whistler)

;;; ---- Constants ----

(defconstant +ethertype-ipv4+ #x0800)
(defconstant +ethertype-ipv6+ #x86dd)
(defconstant +ethertype-arp+ #x0806)
(defconstant +ethertype-vlan+ #x8100)   ; 802.1Q
(defconstant +ethertype-qinq+ #x88a8)   ; 802.1ad

(defconstant +ip-proto-icmp+ 1)
(defconstant +ip-proto-tcp+ 6)
(defconstant +ip-proto-udp+ 17)
(defconstant +ip-proto-icmpv6+ 58)

(defconstant +eth-hdr-len+ 14)
(defconstant +vlan-hdr-len+ 4)
(defconstant +ipv4-hdr-len+ 20)
(defconstant +ipv6-hdr-len+ 40)
(defconstant +tcp-hdr-len+ 20)
(defconstant +udp-hdr-len+ 8)
(defconstant +icmp-hdr-len+ 8)

(defconstant +tcp-fin+ #x01)
(defconstant +tcp-syn+ #x02)
(defconstant +tcp-rst+ #x04)
(defconstant +tcp-psh+ #x08)
(defconstant +tcp-ack+ #x10)
(defconstant +tcp-urg+ #x20)

;;; ---- Header accessors ----

;; (defheader NAME (FIELD :offset N :type T [:net-order t])...) defines
;; (NAME-FIELD ptr) for each field: a load at the offset, byte-swapped to host
;; order when :net-order is true. Accessors are setf-able.
(defmacro defheader (name &rest fields)
  `(progn
     ,@(mapcar
        (lambda (field)
          (destructuring-bind (field-name &key offset type net-order) field
            (unless (integerp offset)
              (error "defheader ~a: field ~a needs :offset N" name field-name))
            (unless (member type '(u8 u16 u32 u64 i8 i16 i32 i64))
              (error "defheader ~a: field ~a needs :type u8, u16, u32 or u64" name field-name))
            (let ((accessor (intern (format nil "~a-~a" name field-name)))
                  (swap (and net-order
                             (cond ((member type '(u16 i16)) 'ntohs)
                                   ((member type '(u32 i32)) 'ntohl)
                                   ((member type '(u64 i64)) 'ntohll)))))
              (cond ((and swap (member type '(i16 i32)))
                     ;; the swapped bits, read back as the signed type
                     `(defmacro ,accessor (ptr) (list 'cast ',type (list ',swap (list 'load ',type ptr ,offset)))))
                    (swap
                     `(defmacro ,accessor (ptr) (list ',swap (list 'load ',type ptr ,offset))))
                    (t
                     `(defmacro ,accessor (ptr) (list 'load ',type ptr ,offset)))))))
        fields)))

(defheader eth
  (dst-mac-hi :offset 0 :type u32)
  (dst-mac-lo :offset 4 :type u16)
  (src-mac-hi :offset 6 :type u32)
  (src-mac-lo :offset 10 :type u16)
  (type :offset 12 :type u16 :net-order t))

;; Addresses and checksums stay in network order, as the kernel stores them.
(defheader ipv4
  (ver-ihl :offset 0 :type u8)
  (tos :offset 1 :type u8)
  (total-len :offset 2 :type u16 :net-order t)
  (id :offset 4 :type u16 :net-order t)
  (frag-off :offset 6 :type u16 :net-order t)
  (ttl :offset 8 :type u8)
  (protocol :offset 9 :type u8)
  (checksum :offset 10 :type u16)
  (src-addr :offset 12 :type u32)
  (dst-addr :offset 16 :type u32))

(defheader ipv6
  (ver-tc-flow :offset 0 :type u32 :net-order t)
  (payload-len :offset 4 :type u16 :net-order t)
  (nexthdr :offset 6 :type u8)
  (hop-limit :offset 7 :type u8)
  (src-addr-hi :offset 8 :type u64)
  (src-addr-lo :offset 16 :type u64)
  (dst-addr-hi :offset 24 :type u64)
  (dst-addr-lo :offset 32 :type u64))

(defheader tcp
  (src-port :offset 0 :type u16 :net-order t)
  (dst-port :offset 2 :type u16 :net-order t)
  (seq :offset 4 :type u32 :net-order t)
  (ack-seq :offset 8 :type u32 :net-order t)
  (data-off :offset 12 :type u8)
  (flags :offset 13 :type u8)
  (window :offset 14 :type u16 :net-order t)
  (checksum :offset 16 :type u16)
  (urgent :offset 18 :type u16 :net-order t))

(defheader udp
  (src-port :offset 0 :type u16 :net-order t)
  (dst-port :offset 2 :type u16 :net-order t)
  (length :offset 4 :type u16 :net-order t)
  (checksum :offset 6 :type u16))

(defheader icmp
  (type :offset 0 :type u8)
  (code :offset 1 :type u8)
  (checksum :offset 2 :type u16)
  (rest :offset 4 :type u32))

;; Header length in 32-bit words, and the pointer past the header and its options.
(defmacro ipv4-ihl (ip) `(logand (ipv4-ver-ihl ,ip) #x0f))
;; True when IP carries a transport header: the first (or only) fragment.
;; Later fragments carry payload bytes, which a port filter must not read as ports.
(defmacro %ipv4-has-l4-p (ip)
  `(= (logand (load u16 ,ip 6) (htons #x1fff)) 0))

;; True when the IPv4 header at IP is well formed (IHL >= 5) and all of it,
;; options included, is in the packet: after this, nothing in the header can
;; fail a bounds check halfway through a rewrite.
(defmacro %ipv4-complete-p (ip data-end)
  ;; In bytes, as ipv4-payload computes it, so LLVM shares the two.
  (let ((len (gensym "len")))
    `(let ((,len (* (ipv4-ihl ,ip) 4)))
       (and (>= ,len +ipv4-hdr-len+) (<= (+ ,ip ,len) ,data-end)))))
(defmacro ipv4-payload (ip)
  (let ((p (gensym "ip")))
    `(let ((,p ,ip)) (+ ,p (* (ipv4-ihl ,p) 4)))))

;;; ---- Context ----

(defmacro xdp-data () '(ctx data))
(defmacro xdp-data-end () '(ctx data-end))

;;; ---- Locating headers ----

;; Raw (network order) EtherType tests: no byte swap at run time.
(defmacro %vlan-type-p (type)
  `(or (= ,type (htons +ethertype-vlan+)) (= ,type (htons +ethertype-qinq+))))

;; Statement style: binds VAR to the L3 header after the Ethernet header and up
;; to two VLAN tags (802.1Q, 802.1ad) and runs BODY when its EtherType is
;; ETHERTYPE; otherwise, or when the headers are cut short, returns XDP_PASS.
(defmacro %with-l3 ((data data-end var ethertype) &body body)
  ;; The second tag is tested only after a first one, at constant offsets
  ;; from DATA: an untagged frame pays one test, and every check is against
  ;; DATA itself, which the bounds pass merges best.
  (let ((type (gensym "type"))
        (one (+ +eth-hdr-len+ +vlan-hdr-len+))
        (two (+ +eth-hdr-len+ (* 2 +vlan-hdr-len+))))
    `(let ((,var (+ ,data +eth-hdr-len+))
           (,type (load u16 ,data 12)))
       (when (%vlan-type-p ,type)
         (when (> (+ ,data ,one) ,data-end) (return XDP_PASS))
         (setf ,type (load u16 ,data ,(+ 12 +vlan-hdr-len+))
               ,var (+ ,data ,one))
         (when (%vlan-type-p ,type)
           (when (> (+ ,data ,two) ,data-end) (return XDP_PASS))
           (setf ,type (load u16 ,data ,(+ 12 (* 2 +vlan-hdr-len+)))
                 ,var (+ ,data ,two))))
       (unless (= ,type (htons ,ethertype)) (return XDP_PASS))
       ,@body)))

;; Expression style: the same header pointer, or 0. The result goes through
;; %opaque so LLVM keeps testing the pointer itself rather than the EtherType
;; it was derived from (a correlation the verifier cannot follow).
(defmacro %l3-header (data data-end ethertype)
  (let ((d (gensym "data")) (de (gensym "end")))
    (labels ((level (tag-ptr depth)
               ;; TAG-PTR points at an EtherType field; the header after it starts 2 bytes on.
               (let ((type (gensym "type")))
                 ;; After two tags a third is not ETHERTYPE either: no VLAN test there.
                 `(let ((,type (load u16 ,tag-ptr 0)))
                    ,(if (< depth 2)
                         `(if (%vlan-type-p ,type)
                              (if (> (+ ,tag-ptr ,(+ 2 +vlan-hdr-len+)) ,de)
                                  0
                                  ,(level `(+ ,tag-ptr ,+vlan-hdr-len+) (+ depth 1)))
                              (if (= ,type (htons ,ethertype)) (+ ,tag-ptr 2) 0))
                         `(if (= ,type (htons ,ethertype)) (+ ,tag-ptr 2) 0))))))
      `(let* ((,d ,data) (,de ,data-end))
         (%opaque
          (if (> (+ ,d +eth-hdr-len+) ,de)
              0
              ,(level `(+ ,d 12) 0)))))))

;;; ---- Expression style: a header pointer, or 0 ----

(defmacro parse-eth (data data-end)
  (let ((d (gensym "data")))
    `(let ((,d ,data))
       (if (> (+ ,d +eth-hdr-len+) ,data-end) 0 ,d))))

(defmacro parse-ipv4 (data data-end)
  (let ((de (gensym "end")) (ip (gensym "ip")))
    `(let* ((,de ,data-end)
            (,ip (%l3-header ,data ,de +ethertype-ipv4+)))
       ;; %l3-header's %opaque is enough: the checks here are on IP itself.
       (if (and ,ip (<= (+ ,ip +ipv4-hdr-len+) ,de) (%ipv4-complete-p ,ip ,de)) ,ip 0))))

(defmacro parse-ipv6 (data data-end)
  (let ((de (gensym "end")) (ip6 (gensym "ip6")))
    `(let* ((,de ,data-end)
            (,ip6 (%l3-header ,data ,de +ethertype-ipv6+)))
       (%opaque (if (and ,ip6 (<= (+ ,ip6 +ipv6-hdr-len+) ,de)) ,ip6 0)))))

;; The transport header of protocol PROTO with at least LEN bytes, over IPv4.
(defmacro %parse-l4 (data data-end proto len)
  (let ((de (gensym "end")) (ip (gensym "ip")) (l4 (gensym "l4")))
    `(let* ((,de ,data-end)
            (,ip (parse-ipv4 ,data ,de)))
       (if (and ,ip (= (ipv4-protocol ,ip) ,proto) (%ipv4-has-l4-p ,ip))
           (let ((,l4 (ipv4-payload ,ip)))
             (%opaque (if (> (+ ,l4 ,len) ,de) 0 ,l4)))
           0))))

(defmacro parse-tcp (data data-end) `(%parse-l4 ,data ,data-end +ip-proto-tcp+ +tcp-hdr-len+))
(defmacro parse-udp (data data-end) `(%parse-l4 ,data ,data-end +ip-proto-udp+ +udp-hdr-len+))
(defmacro parse-icmp (data data-end) `(%parse-l4 ,data ,data-end +ip-proto-icmp+ +icmp-hdr-len+))

;;; ---- Statement style: bind, or return XDP_PASS from the program ----

(defmacro with-packet ((data data-end &key (min-len 0)) &body body)
  `(let ((,data (xdp-data))
         (,data-end (xdp-data-end)))
     ,@(unless (eql min-len 0)
         `((when (> (+ ,data ,min-len) ,data-end) (return XDP_PASS))))
     ,@body))

(defmacro with-eth ((data data-end) &body body)
  `(with-packet (,data ,data-end :min-len +eth-hdr-len+) ,@body))

(defmacro with-ipv4 ((data data-end ip) &body body)
  `(with-packet (,data ,data-end :min-len +eth-hdr-len+)
     (%with-l3 (,data ,data-end ,ip +ethertype-ipv4+)
       (when (> (+ ,ip +ipv4-hdr-len+) ,data-end) (return XDP_PASS))
       (unless (%ipv4-complete-p ,ip ,data-end) (return XDP_PASS))
       ,@body)))

(defmacro with-ipv6 ((data data-end ip6) &body body)
  `(with-packet (,data ,data-end :min-len +eth-hdr-len+)
     (%with-l3 (,data ,data-end ,ip6 +ethertype-ipv6+)
       (when (> (+ ,ip6 +ipv6-hdr-len+) ,data-end) (return XDP_PASS))
       ,@body)))

;; The transport header of protocol PROTO over IPv4, honouring IP options.
(defmacro %with-l4 ((data data-end var) proto len body)
  (let ((ip (gensym "ip")))
    `(with-ipv4 (,data ,data-end ,ip)
       (unless (and (= (ipv4-protocol ,ip) ,proto) (%ipv4-has-l4-p ,ip)) (return XDP_PASS))
       (let ((,var (ipv4-payload ,ip)))
         (when (> (+ ,var ,len) ,data-end) (return XDP_PASS))
         ,@body))))

(defmacro with-tcp ((data data-end tcp) &body body)
  `(%with-l4 (,data ,data-end ,tcp) +ip-proto-tcp+ +tcp-hdr-len+ ,body))

(defmacro with-udp ((data data-end udp) &body body)
  `(%with-l4 (,data ,data-end ,udp) +ip-proto-udp+ +udp-hdr-len+ ,body))

(defmacro with-icmp ((data data-end icmp) &body body)
  `(%with-l4 (,data ,data-end ,icmp) +ip-proto-icmp+ +icmp-hdr-len+ ,body))

;;; ---- Checksums ----

;; One's complement sum folded to 16 bits.
(defmacro %csum-fold (sum)
  (let ((s (gensym "sum")))
    `(let ((,s ,sum))
       (setf ,s (+ (logand ,s #xffff) (>> ,s 16)))
       (setf ,s (+ (logand ,s #xffff) (>> ,s 16)))
       (logand ,s #xffff))))

;; Incremental update (RFC 1624) of a checksum CSUM, as stored in the packet,
;; for a 16-bit field changing from FROM to TO (also as stored). Returns the
;; new checksum: (setf (udp-checksum u) (csum-replace2 (udp-checksum u) old new)).
(defmacro csum-replace2 (csum from to)
  `(logand (lognot (%csum-fold (+ (logand (lognot ,csum) #xffff)
                                  (logand (lognot ,from) #xffff)
                                  (logand ,to #xffff))))
           #xffff))

;; The same for a 32-bit field, such as an IPv4 address.
(defmacro csum-replace4 (csum from to)
  (let ((f (gensym "from")) (tt (gensym "to")))
    `(let ((,f (lognot ,from)) (,tt ,to))
       (logand (lognot (%csum-fold (+ (logand (lognot ,csum) #xffff)
                                      (logand ,f #xffff) (logand (>> ,f 16) #xffff)
                                      (logand ,tt #xffff) (logand (>> ,tt 16) #xffff))))
               #xffff))))

;; Recompute the IPv4 header checksum, options included. Every byte is read
;; (and bounds-checked) before the checksum is written, so a header cut short
;; leaves the packet untouched: the sum covers the old checksum too, which
;; adding its complement takes back out.
(defmacro ipv4-recompute-checksum (ip)
  (let ((p (gensym "ip")) (sum (gensym "sum")) (len (gensym "len")) (i (gensym "i")))
    `(let* ((,p ,ip)
            (,len (* (ipv4-ihl ,p) 4))
            (,sum (csum-diff 0 0 ,p +ipv4-hdr-len+ 0)))
       ;; Options: up to 40 more bytes, one 32-bit word at a time.
       (dotimes (,i 10)
         (when (< (+ +ipv4-hdr-len+ (* ,i 4)) ,len)
           (setf ,sum (+ ,sum (load u32 ,p (+ +ipv4-hdr-len+ (* ,i 4)))))))
       (setf ,sum (+ ,sum (logand (lognot (ipv4-checksum ,p)) #xffff)))
       ;; Fold: the sum stays below 2^36, so one 16-bit fold here and two in %csum-fold.
       (setf ,sum (+ (logand ,sum #xffff) (>> ,sum 16)))
       (setf (ipv4-checksum ,p) (logand (lognot (%csum-fold ,sum)) #xffff)))))
