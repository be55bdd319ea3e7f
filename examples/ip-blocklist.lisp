;;; IPv4 source blocklist (seeds 001 and 002): drop packets whose source
;;; address is in the `blocklist` map, pass the rest. User space fills the
;;; map; keys are addresses as they appear in the packet (network order), e.g.
;;;   bpftool map update name blocklist key 1 1 1 1 value 1 0 0 0
;;; One 802.1Q or 802.1ad tag is stepped over. A frame cut short inside the
;;; headers is malformed: XDP_ABORTED, as in the seeds.

(defmap blocklist :type :hash :key-type u32 :value-type u32 :max-entries 1024)

(defprog xdp-ip-filter (:type :xdp :section "xdp/xdp_ip_filter" :short-packet XDP_ABORTED)
  (let* ((data (xdp-data))
         (ip (+ data +eth-hdr-len+))
         (proto (eth-type data)))
    (when (or (= proto +ethertype-vlan+) (= proto +ethertype-qinq+))
      (setf proto (ntohs (load u16 ip 2)))
      (setf ip (+ ip +vlan-hdr-len+)))
    (unless (= proto +ethertype-ipv4+)
      (return XDP_PASS))
    (if (map-lookup blocklist (ipv4-src-addr ip))
        XDP_DROP
        XDP_PASS)))
