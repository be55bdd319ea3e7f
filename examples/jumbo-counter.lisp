;;; Multi-buffer XDP (xdp.frags): accepts jumbo frames split over several
;;; buffers. Counts frames by size, and drops UDP to port 9 (discard) reading
;;; the header with xdp-load-bytes, which works wherever the bytes are.

(defstruct udp-ports (src u16) (dst u16))

(defmap frame-sizes :type :percpu-array :key-type u32 :value-type u64 :max-entries 2)

(defconstant +jumbo+ 1)      ; slot for frames over 1500 bytes
(defconstant +normal+ 0)

(defprog jumbo-counter (:type :xdp :section "xdp.frags")
  (let ((length (xdp-get-buff-len)))
    (incf (getmap frame-sizes (if (> length 1514) +jumbo+ +normal+))))
  (with-ipv4 (data data-end ip)
    (when (= (ipv4-protocol ip) +ip-proto-udp+)
      (let ((ports (make-udp-ports))
            (offset (+ (- ip data) (* (ipv4-ihl ip) 4))))
        (when (= (xdp-load-bytes offset ports (sizeof udp-ports)) 0)
          (when (= (ntohs (udp-ports-dst ports)) 9)
            (return XDP_DROP))))))
  XDP_PASS)
