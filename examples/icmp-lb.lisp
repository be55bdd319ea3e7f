;;; Round-robin ICMP load balancer (seed 003). Echo requests to the balancer's
;;; address go out again (XDP_TX) to two backends in turn: the destination
;;; address and MAC are rewritten and the IPv4 checksum is updated.

(defconstant +lb-ip+ #xC0A87AEE)        ; 192.168.122.238
(defconstant +backend0-ip+ #xC0A87A58)  ; 192.168.122.88
(defconstant +backend1-ip+ #xC0A87AD7)  ; 192.168.122.215

(defstruct backend
  (ip u32)                ; network order, as in the packet
  (mac (array u8 6)))

(defmap rr-map :type :array :key-type u32 :value-type u32 :max-entries 1)
(defmap backend-map :type :array :key-type u32 :value-type backend :max-entries 2)

(defmacro set-mac (mac &rest bytes)
  `(progn ,@(loop for b in bytes for i from 0 collect `(setf (load u8 ,mac ,i) ,b))))

(defmacro put-backend (key ip &rest mac)
  (let ((be (gensym "be")))
    `(let ((,be (make-backend)))
       (setf (backend-ip ,be) (htonl ,ip))
       (set-mac (backend-mac ,be) ,@mac)
       (setf (getmap backend-map ,key) ,be))))

(defprog icmp-lb (:type :xdp)
  (with-ipv4 (data data-end ip)
    (unless (and (= (ipv4-dst-addr ip) (htonl +lb-ip+))
                 (= (ipv4-protocol ip) +ip-proto-icmp+))
      (return XDP_PASS))
    ;; The backends, on first use.
    (when-let ((first (getmap backend-map 0)))
      (when (= (backend-ip first) 0)
        (put-backend 0 +backend0-ip+ #x52 #x54 #x00 #xff #xff #x55)
        (put-backend 1 +backend1-ip+ #x52 #x54 #x00 #x5d #x6e #xa1)))
    ;; Next backend, round robin.
    (when-let ((slot (map-lookup rr-map 0)))
      (let ((index (load u32 slot 0)))
        (store u32 slot 0 (mod (+ index 1) 2))
        (when-let ((be (getmap backend-map index)))
          (let ((old (ipv4-dst-addr ip))
                (new (backend-ip be)))
            (setf (ipv4-dst-addr ip) new)
            (setf (ipv4-checksum ip) (csum-replace4 (ipv4-checksum ip) old new))
            (memcpy data (backend-mac be) 6)
            (return XDP_TX))))))
  XDP_PASS)
