;;; IPv4 prefix blocklist with a longest-prefix-match trie: drop packets whose
;;; source address falls in a blocked prefix. Keys are a prefix length and the
;;; address bytes in network order, e.g. to block 10.0.0.0/8:
;;;   bpftool map update name blocked_prefix key 8 0 0 0 10 0 0 0 value 1 0 0 0

(defstruct lpm-v4-key
  (prefixlen u32)   ; significant bits of addr
  (addr u32))       ; network order

(defmap blocked-prefix :type :lpm-trie :key-type lpm-v4-key :value-type u32 :max-entries 4096)

(defprog prefix-filter (:type :xdp)
  (with-ipv4 (data data-end ip)
    (let ((key (make-lpm-v4-key)))
      (setf (lpm-v4-key-prefixlen key) 32
            (lpm-v4-key-addr key) (ipv4-src-addr ip))
      (when (map-lookup blocked-prefix key)
        (return XDP_DROP))))
  XDP_PASS)
