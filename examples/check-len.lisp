;;; Drop frames shorter than an Ethernet header, pass the rest.
;;; From the Whistler book's XDP chapter ("Packet Context").

(defprog check-len (:type :xdp)
  (let ((data (xdp-data))
        (data-end (xdp-data-end)))
    (if (< (- data-end data) 14)
        XDP_DROP
        XDP_PASS)))
