;;; IPv6 filter: drop packets from source addresses in the `blocked6` map,
;;; and ICMPv6 echo requests (ping) to this host; pass everything else.
;;; Keys are the 16 address bytes as in the packet:
;;;   bpftool map update name blocked6 key hex 20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01 value 1

(defconstant +icmpv6-echo-request+ 128)

(defstruct in6-addr
  (hi u64)   ; first 8 bytes, as in the packet
  (lo u64))

(defmap blocked6 :type :hash :key-type in6-addr :value-type u8 :max-entries 1024)

(defprog ipv6-filter (:type :xdp)
  (with-ipv6 (data data-end ip6)
    (let ((source (make-in6-addr)))
      (setf (in6-addr-hi source) (ipv6-src-addr-hi ip6)
            (in6-addr-lo source) (ipv6-src-addr-lo ip6))
      (when (map-lookup blocked6 source)
        (return XDP_DROP)))
    (when (and (= (ipv6-nexthdr ip6) +ip-proto-icmpv6+)
               (= (icmp-type (+ ip6 +ipv6-hdr-len+)) +icmpv6-echo-request+))
      (return XDP_DROP)))
  XDP_PASS)
