var Kt=Object.defineProperty;var Ht=(e,t,n)=>t in e?Kt(e,t,{enumerable:!0,configurable:!0,writable:!0,value:n}):e[t]=n;var pe=(e,t,n)=>Ht(e,typeof t!="symbol"?t+"":t,n);(function(){const t=document.createElement("link").relList;if(t&&t.supports&&t.supports("modulepreload"))return;for(const a of document.querySelectorAll('link[rel="modulepreload"]'))r(a);new MutationObserver(a=>{for(const i of a)if(i.type==="childList")for(const s of i.addedNodes)s.tagName==="LINK"&&s.rel==="modulepreload"&&r(s)}).observe(document,{childList:!0,subtree:!0});function n(a){const i={};return a.integrity&&(i.integrity=a.integrity),a.referrerPolicy&&(i.referrerPolicy=a.referrerPolicy),a.crossOrigin==="use-credentials"?i.credentials="include":a.crossOrigin==="anonymous"?i.credentials="omit":i.credentials="same-origin",i}function r(a){if(a.ep)return;a.ep=!0;const i=n(a);fetch(a.href,i)}})();var x,gt,ie,Oe,Ae,yt,$e,bt,Be,Me,Ne=Symbol.for("pv"),ke={},Ce=[],Ft=/^m(i|n|o|s|text|space)$/,Ge=Array.isArray,vt=Ce.slice,le=Object.assign;function ce(e){e&&e.parentNode&&e.remove()}function we(e,t,n,r,a){var i={type:e,props:t,key:n,ref:r,__k:null,__:null,__b:0,__e:null,__c:null,constructor:Ne,__v:a||++gt,__i:-1,__u:0};return!a&&x.vnode&&x.vnode(i),i}function te(e){return e.children}function Ie(e,t){this.props=e,this.context=t,this.__g=0}function se(e,t){if(t==null)return e.__&&se(e.__,e.__i+1);for(var n;t<e.__k.length;t++)if((n=e.__k[t])&&n.__e)return n.__e;return typeof e.type!="function"||e.props.__P?null:se(e)}function Wt(e){var t,n=e.__v,r=n.__e,a=[],i=[],s=e.__P;s&&((t=le({constructor:Ne},n)).__v=n.__v+1,x.vnode&&x.vnode(t),ze(s,t,n,e.__n,s.namespaceURI,32&n.__u?[r]:null,a,r||se(n),32&n.__u,i),t.__v=n.__v,t.__.__k[t.__i]=t,kt(a,t,i),n.__=n.__e=null,t.__e!=r&&$t(t))}function $t(e){if((e=e.__)&&e.__c&&!e.props.__P)return e.__e=null,e.__k.some(function(t){return t&&(e.__e=t.__e)}),$t(e)}function et(e){(8&e.__g||(e.__g|=8,ie.push(e),Ae++))&&Oe==x.debounceRendering||((Oe=x.debounceRendering)||queueMicrotask)(wt)}function wt(){try{for(var e,t=1;ie.length;)ie.length>t&&ie.sort(yt),e=ie.shift(),t=ie.length,8&e.__g&&Wt(e)}finally{(Ae=ie.length)&&(Oe||queueMicrotask)(wt)}}function It(e,t,n,r,a,i,s,c,d,m,p){var _,f,l,y,S,I,w=r.__k||Ce,h=t.length;for(d=jt(n,t,w,d,h),_=0;_<h;_++)(l=n.__k[_])!=null&&(f=~l.__i&&w[l.__i]||ke,l.__i=_,I=ze(e,l,f,a,i,s,c,d,m,p),y=l.__e,(f.ref!=l.ref||8&f.__u)&&(f.ref&&Je(f.ref,null,l,f),l.ref&&p.push(l.ref,l.__c||y,l)),S=S||y,4&l.__u?(d=St(l,d,e,!f.__v),f.__e&&(f.__e=null)):typeof l.type=="function"&&I!==void 0?d=I:y&&(d=y.nextSibling),l.__u&=-21);return n.__e=S,d}function jt(e,t,n,r,a){var i,s,c,d,m,p,_,f,l,y=n.length,S=y,I=0,w=0,h=e.__k=Array(a);for(i=0;i<a;i++)(s=t[i])!=null&&typeof s!="boolean"&&typeof s!="function"?(typeof s!="object"||s.constructor===String?s=h[i]=we(null,s):Ge(s)?s=h[i]=we(te,{children:s}):s.constructor===Ne&&s.__b?s=h[i]=we(s.type,s.props,s.key,s.ref,s.__v):h[i]=s,d=i+I,s.__=e,s.__b=e.__b+1,c=null,~(m=s.__i=Bt(s,n,d,S))&&(S--,(c=n[m])&&(c.__u|=2)),c&&c.__v?(s.__u|=16,m==d-1?I--:m==d+1?I++:m!=d&&(m>d?I--:I++,w=1)):(~m||(a>y?I--:a<y&&I++),typeof s.type!="function"&&(s.__u|=4))):h[i]=null;if(w){for(p=[],_=[],i=0;i<a;i++)if((s=h[i])&&16&s.__u){for(I=0,f=p.length;I<f;)p[l=I+f>>1]<s.__i?I=l+1:f=l;p[I]=s.__i,_[i]=I+1}for(I=p.length;i--;)_[i]&&(_[i]==I?I--:h[i].__u|=4)}if(S)for(i=0;i<y;i++)!(c=n[i])||2&c.__u||(c.__e==r&&(r=se(c)),Ve(c,c));return r}function St(e,t,n,r){var a,i,s,c;if(typeof e.type=="function"){if(e.props.__P)return t;if(a=e.__k)for(i=0;i<a.length;i++)a[i]&&(a[i].__=e,t=St(a[i],t,n,!1));return t}for(t&&!t.parentNode&&(t=se(e))&&!t.parentNode&&(t=null),s=e.__e,c=t;c&&c.nodeType==8;)c=c.nextSibling;for(s!=c&&(!r&&n.moveBefore&&s.parentNode?n.moveBefore(s,t):n.insertBefore(s,t||null)),t=s;(t=t&&t.nextSibling)&&t.nodeType==8&&!t.data.startsWith("$s"););return t}function Bt(e,t,n,r){var a,i=e.key,s=e.type,c=t[n],d=c&&!(2&c.__u);if(c===null&&i==null||d&&i==c.key&&s==c.type)return n;if(r>(d?1:0)){for(a=n-1;a>=0;a--)if((c=t[a])&&!(2&c.__u)&&i==c.key&&s==c.type)return a;for(a=n+1;a<t.length;a++)if((c=t[a])&&!(2&c.__u)&&i==c.key&&s==c.type)return a}return-1}function tt(e,t,n){n==null&&(n=""),t[0]=="-"?e.setProperty(t,n):e[t]=n}function ve(e,t,n,r,a){var i,s;if(t=="style")if(typeof n=="string")e.style.cssText=n;else{if(typeof r=="string"&&(e.style.cssText=r=""),r)for(t in r)n&&t in n||tt(e.style,t);if(n)for(t in n)r&&n[t]==r[t]||tt(e.style,t,n[t])}else if(t[0]=="o"&&t[1]=="n")typeof n!="function"&&(n=null),typeof r!="function"&&(r=null),(e.__e||(e.__e={}))[t]=n,n&&r||(s=Me[t]||(Me[t]=Gt(t)),(e.__a||(e.__a={}))[t]=Be,i=t!=(t=t.replace(bt,"$1")),(t=t.slice(2))[0]<"a"&&(t=t.toLowerCase()),n?e.addEventListener(t,s,i):e.removeEventListener(t,s,i));else{if(a=="http://www.w3.org/2000/svg")t=t.replace(/xlink(H|:h)/,"h").replace(/sName$/,"s");else if(t!="width"&&t!="height"&&t!="href"&&t!="list"&&t!="form"&&t!="tabIndex"&&t!="download"&&t!="rowSpan"&&t!="colSpan"&&t!="role"&&t!="popover"&&t in e)try{return void(e[t]=n??"")}catch{}if(typeof n=="function")return;n==null||n===!1&&t[4]!="-"?e.removeAttribute(t):e.setAttribute(t,t=="popover"&&n==1?"":n)}}function Gt(e){return function(t){var n=this.__e;if(n){if(n=n[e],t[$e]==null)t[$e]=Be++;else if(t[$e]<this.__a[e])return;return n(x.event?x.event(t):t)}}}function ze(e,t,n,r,a,i,s,c,d,m){var p,_,f,l,y,S,I,w,h,v,D,K,H,g,u,q,U,F,L=t.type;if(t.constructor!==Ne)return null;128&n.__u&&(d=32&n.__u,p=n.__c.__z)&&(t.__u|=d,_=i=[],p.nodeType==8?c=Se(p,i):i.push(p),c=i[0]||c),(p=x.__b)&&p(t);e:if(typeof L=="function"){f=s.length;try{if(w=t.props,h=(p=L.prototype)&&p.render,v=(p=L.contextType)&&r[p.__c],D=p?v?v.props.value:p.__:r,(l=n.__c)?(t.__c=l,2&l.__g&&(l.__g|=1)):(h?t.__c=l=new L(w,D):(t.__c=l=new Ie(w,D),l.constructor=L,l.render=Jt),v&&v.sub(l),l.state||(l.state={}),l.__n=r,l.__g|=8,l.__h=[],l.__k=[]),h&&(l.__s||(l.__s=l.state),L.getDerivedStateFromProps&&(l.__s==l.state&&(l.__s=le({},l.__s)),le(l.__s,L.getDerivedStateFromProps(w,l.__s)))),y=l.props,S=l.state,l.__v=t,n.__c){if(w!==y&&h&&!L.getDerivedStateFromProps&&l.componentWillReceiveProps&&l.componentWillReceiveProps(w,D),t.__v==n.__v&&!(8&l.__g)||!(4&l.__g)&&l.shouldComponentUpdate&&l.shouldComponentUpdate(w,l.__s,D)===!1){t.__v!=n.__v&&(l.props=w,l.state=l.__s,l.__g&=-9),t.__e=n.__e,t.__k=n.__k,t.__k.some(function(W){W&&(W.__=t)}),Ce.push.apply(l.__h,l.__k),l.__k=[],l.__h.length&&s.push(l),c=se(n);break e}l.componentWillUpdate&&l.componentWillUpdate(w,l.__s,D),h&&l.componentDidUpdate&&l.__h.push(function(){l.componentDidUpdate(y,S,I)})}else h&&!L.getDerivedStateFromProps&&l.componentWillMount&&l.componentWillMount(),h&&l.componentDidMount&&l.__h.push(l.componentDidMount);l.context=D,l.props=w,l.__P=e,l.__g&=-5,K=x.__r,H=h?25:0;do l.__g&=-9,K&&K(t),p=l.render(l.props,l.state=l.__s,l.context);while(8&l.__g&&++H<25);h&&(Ce.push.apply(l.__h,l.__k),l.__k=[]),l.state=l.__s,l.getChildContext&&(r=le({},r,l.getChildContext())),h&&n.__c&&l.getSnapshotBeforeUpdate&&(I=l.getSnapshotBeforeUpdate(y,S)),g=p&&p.type===te&&p.key==null?p.props.children:p,w.__P&&(p=c,a=(e=w.__P).namespaceURI,d=i=null,n.props&&n.props.__P!=e&&(n.__k.some(function(W){W&&Ve(W,W)}),n.__k=null),c=n.__k?se(n,0):null),c=It(e,Ge(g)?g:[g],t,n,r,a,i,s,c,d,m),w.__P&&(t.__e=null,c=p),t.__u&=-161,_&&_.some(ce),l.__h.length&&s.push(l),1&l.__g&&(l.__g&=-4)}catch(W){if(s.length=f,t.__v=null,d||i)if(W&&W.then){if(t.__u|=128|d,i){for(~(U=i.indexOf(c||void 0))||(U=i.length);(F=i[U-1])&&F.nodeType==8;)U--;for(;U<i.length;U++)if(F=i[U])if(i[U]=null,u){if(F==q)break}else{if(F.nodeType!=8)break;F.data.startsWith("$s")&&(q=Se(u=F))}}if(!u){for(;c&&c.nodeType==8&&c.nextSibling;)c=c.nextSibling;u=c}(p=Se(u=t.__c.__z||(t.__c.__z=u)))?(t.__e=u,c=p):t.__e=c,c=c&&c.nextSibling}else i&&i.some(ce);else t.__e=n.__e;t.__k||(t.__k=n.__k||[]),W&&W.then||At(t),x.__e(W,t,n)}}else c=t.__e=zt(n.__e,t,n,r,a,i,s,d,m,e);return(p=x.diffed)&&p(t),c}function Se(e,t){if(e&&e.nodeType==8&&e.data.startsWith("$s"))for(var n=1;e=e.nextSibling;){if(e.nodeType==8){if(e.data.startsWith("$s"))n++;else if(e.data.startsWith("/$s")&&!--n)return e}t&&t.push(e)}}function At(e){e&&(e.__c&&(e.__c.__g|=4),e.__k&&e.__k.some(At))}function kt(e,t,n){for(var r=0;r<n.length;)Je(n[r++],n[r++],n[r++]);x.__c&&x.__c(t,e),e.some(function(a){try{e=a.__h,a.__h=[],e.some(function(i){i.call(a)})}catch(i){x.__e(i,a.__v)}})}function zt(e,t,n,r,a,i,s,c,d,m){var p,_,f,l,y,S,I,w,h=n.props||ke,v=t.props,D=t.type;if(D=="svg"?a="http://www.w3.org/2000/svg":D=="math"?a="http://www.w3.org/1998/Math/MathML":a||(a="http://www.w3.org/1999/xhtml"),i){for(p=0;p<i.length;p++)if((y=i[p])&&(D?y.localName==D:y.nodeType==3)){e=y,i[p]=null;break}}if(!e){if(w=m.ownerDocument||document,!D)return w.createTextNode(v);e=w.createElementNS(a,D,v.is?v:m),c&&(x.__m&&x.__m(t,i),c=!1),i=null}if(D){if(m=D=="template"&&e.content||e,i=D=="textarea"&&v.defaultValue!=null?null:i&&vt.call(m.childNodes),!c&&i)for(h={},p=0;p<e.attributes.length;p++)h[(y=e.attributes[p]).name]=y.value;for(p in h)y=h[p],p=="dangerouslySetInnerHTML"?f=y:p=="children"||p in v||p=="value"&&"defaultValue"in v||p=="checked"&&"defaultChecked"in v||ve(e,p,null,y,a);for(p in v)y=v[p],p=="children"?l=y:p=="dangerouslySetInnerHTML"?_=y:p=="value"?S=y:p=="checked"?I=y:c&&typeof y!="function"||h[p]===y||ve(e,p,y,h[p],a);_?(c||f&&(_.__html==f.__html||_.__html==e.innerHTML)||(e.innerHTML=_.__html),t.__k=[]):(f&&(e.textContent=""),(D=="foreignObject"||a=="http://www.w3.org/1998/Math/MathML"&&Ft.test(D))&&(a="http://www.w3.org/1999/xhtml"),It(m,Ge(l)?l:[l],t,n,r,a,i,s,i?i[0]:n.__k&&se(n,0),c,d),i&&i.some(ce)),c&&D!="textarea"||(p="value",D=="progress"&&S==null?e.removeAttribute(p):S==null||S===e[p]&&(D!="progress"||S)||ve(e,p,S,h[p],a),p="checked",I!=null&&I!=e[p]&&ve(e,p,I,h[p],a))}else h===v||c&&e.data==v||(e.data=v);return e}function Je(e,t,n,r){try{typeof e=="function"?t?t.__x=e(t)||1:r&&(r=r.__c||r.__e)&&(t=r.__x)&&(r.__x=null,typeof t=="function"?t():e(null)):e.current=t}catch(a){x.__e(a,n)}}function Ve(e,t,n){var r,a,i,s;if(x.unmount&&x.unmount(e),!(r=e.ref)||r.current&&r.current!=e.__e||Je(r,null,t,e),r=e.__c){if(r.componentWillUnmount)try{r.componentWillUnmount()}catch(c){x.__e(c,t)}r.__P=r.__n=null}if(r=e.__k)for(s=0;s<r.length;s++)r[s]&&Ve(r[s],t,typeof e.type!="function"||n&&!e.props.__P);!n&&(r=e.__c)&&(r=r.__z)&&(a=Se(r,i=[]))&&(r==e.__e&&i.some(ce),ce(a),ce(r)),n||ce(e.__e),e.__e=e.__c=e.__=null}function Jt(e,t,n){return this.constructor(e,n)}function Vt(e,t){var n,r,a,i;x.__&&x.__(e,t),t.nodeType==9&&(t=t.documentElement),r=(n=e&&32&e.__u)?null:t.__k,t.__k=we(te,{children:[e]}),a=[],i=[],ze(t,t.__k,r||ke,ke,t.namespaceURI,r?null:t.firstChild?vt.call(t.childNodes):null,a,r?r.__e:t.firstChild,n,i),kt(a,t.__k,i),t.__k.props.children=null}x={__e:function(e,t,n,r){for(var a,i,s;t=t.__;)if((a=t.__c)&&!(1&a.__g)){a.__g|=4;try{if((s=(i=a.constructor)&&i.getDerivedStateFromError)&&a.setState(i.getDerivedStateFromError(e)),a.componentDidCatch&&(a.componentDidCatch(e,r||{}),s=1),s&&8&a.__g)return void(a.__g|=2)}catch(c){e=c}}throw Ae=0,e}},gt=0,Ie.prototype.setState=function(e,t){var n=this.__s;n&&n!=this.state||(n=this.__s=le({},this.state)),typeof e=="function"&&(e=e(le({},n),this.props)),e&&(le(n,e),this.__v&&(t&&this.__k.push(t),et(this)))},Ie.prototype.forceUpdate=function(e){this.__v&&(this.__g|=4,e&&this.__h.push(e),et(this))},Ie.prototype.render=te,ie=[],Ae=0,yt=function(e,t){return e.__v.__b-t.__v.__b},$e=Symbol(),bt=/(PointerCapture)$|Capture$/i,Be=0,Me={};var Qt=Symbol.for("pv"),Yt=0;function o(e,t,n,r,a,i){t||(t={});var s,c,d=t;if("ref"in d&&typeof e!="function")for(c in d={},t)c=="ref"?s=t[c]:d[c]=t[c];var m={type:e,props:d,key:n,ref:s,__k:null,__:null,__b:0,__e:null,__c:null,constructor:Qt,__v:--Yt,__i:-1,__u:0};return x.vnode&&x.vnode(m),m}var ge,j,qe,nt,Ke=Object.is,ye=0,Ct=[],He=[],M=x,ot=M.__b,rt=M.__r,it=M.diffed,st=M.__c,at=M.unmount,ct=M.__;function Qe(e,t){M.__h&&M.__h(j,e,ye||t),ye=0;var n=j.__H||(j.__H={__:[],__h:[]});return e>=n.__.length&&n.__.push({}),n.__[e]}function $(e){return ye=1,Xt(Et,e)}function Xt(e,t,n){var r=Qe(ge++,2);if(r.t=e,!r.__c&&(r.__=[Et(void 0,t),function(i){var s=(r.__N||r.__)[0],c=r.t(s,i);Ke(s,c)||(r.__N=[c,r.__[1]],r.__c.setState({}))}],r.__c=j,!j.__f)){j.__f=!0;var a=j.shouldComponentUpdate;j.shouldComponentUpdate=function(i,s,c){var d=this.__H;if(!d)return!0;var m=!1,p=this.props!=i;if(d.__.some(function(f){f.__N&&(m=!0,Ke(f.__[0],f.__N[0])||(p=!0))}),a){var _=a.call(this,i,s,c);return m?_||p:_}return!m||p}}return r.__}function ee(e,t){var n=Qe(ge++,3);!M.__s&&Tt(n.__H,t)&&(n.__P=!0,n.__=e,n.u=t,j.__H.__h.push(n))}function lt(e){return ye=5,Dt(function(){return{current:e}},[])}function Dt(e,t){var n=Qe(ge++,7);return Tt(n.__H,t)&&(n.__=e(),n.__H=t),n.__}function Zt(e,t){return ye=8,Dt(function(){return e},t)}function en(){var e;do{for(;e=He.shift();)try{fe(e)}catch(n){M.__e(n,{__:(e=e.__P)&&e.__v})}for(;e=Ct.shift();){var t=e.__H;if(e.__P&&t)try{t.__h.some(fe),t.__h.some(Fe),t.__h=[]}catch(n){t.__h=[],M.__e(n,e.__v)}}}while(He.length)}M.__b=function(e){j=null,ot&&ot(e)},M.__=function(e,t){e&&t.__k&&t.__k.__m&&(e.__m=t.__k.__m),ct&&ct(e,t)},M.__r=function(e){rt&&rt(e),ge=0;var t=(j=e.__c).__H;t&&(qe==j?j.__h=[]:(t.__h.some(fe),t.__h.some(Fe),ge=0),t.__h=[],t.__.some(function(n){n.__N&&(n.__=n.__N),n.u=n.__N=void 0})),qe=j},M.diffed=function(e){it&&it(e);var t=e.__c;t&&t.__H&&(t.__H.__h.length&&dt(Ct.push(t)),t.__H.__.some(function(n){n.u&&(n.__H=n.u)})),qe=j=null},M.__c=function(e,t){t.some(function(n){try{n.__h.some(fe),n.__h=n.__h.filter(function(r){return!r.__||Fe(r)})}catch(r){n.__h=[function(){throw r}]}}),st&&st(e,t)},M.unmount=function(e){at&&at(e);var t,n,r=e.__c;r&&r.__H&&(r.__H.__.some(function(a){try{if(a.__P&&a.__c){if(n===void 0){for(n=e.__;n&&(!n.__c||!n.__c.__P);)n=n.__;n=n&&n.__c}a.__P=n,dt(He.push(a))}else fe(a)}catch(i){t=i}}),r.__H=void 0,t&&M.__e(t,r.__v))};var ut=typeof requestAnimationFrame=="function";function tn(e){var t,n=function(){clearTimeout(r),ut&&cancelAnimationFrame(t),setTimeout(e)},r=setTimeout(n,35);ut&&(t=requestAnimationFrame(n))}function dt(e){e!=1&&nt==M.requestAnimationFrame||((nt=M.requestAnimationFrame)||tn)(en)}function fe(e){var t=j,n=e.__c;typeof n=="function"&&(e.__c=void 0,n()),j=t}function Fe(e){var t=j;e.__c=e.__(),j=t}function Tt(e,t){return!e||e.length!=t.length||t.some(function(n,r){return!Ke(n,e[r])})}function Et(e,t){return typeof t=="function"?t(e):t}function J(e){return e===null?"null":Array.isArray(e)?"array":typeof e}function ae(e){return J(e)==="object"}function nn(e){return Array.isArray(e)&&e.length>0&&e.every(t=>"message"in t)}function pt(e,t){return e.length<124?e:t}const on="graphql-transport-ws";var Y=(e=>(e[e.InternalServerError=4500]="InternalServerError",e[e.InternalClientError=4005]="InternalClientError",e[e.BadRequest=4400]="BadRequest",e[e.BadResponse=4004]="BadResponse",e[e.Unauthorized=4401]="Unauthorized",e[e.Forbidden=4403]="Forbidden",e[e.SubprotocolNotAcceptable=4406]="SubprotocolNotAcceptable",e[e.ConnectionInitialisationTimeout=4408]="ConnectionInitialisationTimeout",e[e.ConnectionAcknowledgementTimeout=4504]="ConnectionAcknowledgementTimeout",e[e.SubscriberAlreadyExists=4409]="SubscriberAlreadyExists",e[e.TooManyInitialisationRequests=4429]="TooManyInitialisationRequests",e))(Y||{}),X=(e=>(e.ConnectionInit="connection_init",e.ConnectionAck="connection_ack",e.Ping="ping",e.Pong="pong",e.Subscribe="subscribe",e.Next="next",e.Error="error",e.Complete="complete",e))(X||{});function Nt(e){if(!ae(e))throw new Error(`Message is expected to be an object, but got ${J(e)}`);if(!e.type)throw new Error("Message is missing the 'type' property");if(typeof e.type!="string")throw new Error(`Message is expects the 'type' property to be a string, but got ${J(e.type)}`);switch(e.type){case"connection_init":case"connection_ack":case"ping":case"pong":{if(e.payload!=null&&!ae(e.payload))throw new Error(`"${e.type}" message expects the 'payload' property to be an object or nullish or missing, but got "${e.payload}"`);break}case"subscribe":{if(typeof e.id!="string")throw new Error(`"${e.type}" message expects the 'id' property to be a string, but got ${J(e.id)}`);if(!e.id)throw new Error(`"${e.type}" message requires a non-empty 'id' property`);if(!ae(e.payload))throw new Error(`"${e.type}" message expects the 'payload' property to be an object, but got ${J(e.payload)}`);if(typeof e.payload.query!="string")throw new Error(`"${e.type}" message payload expects the 'query' property to be a string, but got ${J(e.payload.query)}`);if(e.payload.variables!=null&&!ae(e.payload.variables))throw new Error(`"${e.type}" message payload expects the 'variables' property to be a an object or nullish or missing, but got ${J(e.payload.variables)}`);if(e.payload.operationName!=null&&J(e.payload.operationName)!=="string")throw new Error(`"${e.type}" message payload expects the 'operationName' property to be a string or nullish or missing, but got ${J(e.payload.operationName)}`);if(e.payload.extensions!=null&&!ae(e.payload.extensions))throw new Error(`"${e.type}" message payload expects the 'extensions' property to be a an object or nullish or missing, but got ${J(e.payload.extensions)}`);break}case"next":{if(typeof e.id!="string")throw new Error(`"${e.type}" message expects the 'id' property to be a string, but got ${J(e.id)}`);if(!e.id)throw new Error(`"${e.type}" message requires a non-empty 'id' property`);if(!ae(e.payload))throw new Error(`"${e.type}" message expects the 'payload' property to be an object, but got ${J(e.payload)}`);break}case"error":{if(typeof e.id!="string")throw new Error(`"${e.type}" message expects the 'id' property to be a string, but got ${J(e.id)}`);if(!e.id)throw new Error(`"${e.type}" message requires a non-empty 'id' property`);if(!nn(e.payload))throw new Error(`"${e.type}" message expects the 'payload' property to be an array of GraphQL errors, but got ${JSON.stringify(e.payload)}`);break}case"complete":{if(typeof e.id!="string")throw new Error(`"${e.type}" message expects the 'id' property to be a string, but got ${J(e.id)}`);if(!e.id)throw new Error(`"${e.type}" message requires a non-empty 'id' property`);break}default:throw new Error(`Invalid message 'type' property "${e.type}"`)}return e}function rn(e,t){return Nt(typeof e=="string"?JSON.parse(e,t):e)}function he(e,t){return Nt(e),JSON.stringify(e,t)}function sn(e){const{url:t,connectionParams:n,lazy:r=!0,onNonLazyError:a=console.error,lazyCloseTimeout:i=0,keepAlive:s=0,disablePong:c,connectionAckWaitTimeout:d=0,retryAttempts:m=5,retryWait:p=async function(R){const b=Math.pow(2,R);await new Promise(E=>setTimeout(E,b*1e3+Math.floor(Math.random()*2700+300)))},shouldRetry:_=Ue,on:f,webSocketImpl:l,generateID:y=function(){return"xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx".replace(/[xy]/g,R=>{const b=Math.random()*16|0;return(R=="x"?b:b&3|8).toString(16)})},jsonMessageReplacer:S,jsonMessageReviver:I}=e;let w;if(l){if(!cn(l))throw new Error("Invalid WebSocket implementation provided");w=l}else typeof WebSocket<"u"?w=WebSocket:typeof global<"u"?w=global.WebSocket||global.MozWebSocket:typeof window<"u"&&(w=window.WebSocket||window.MozWebSocket);if(!w)throw new Error("WebSocket implementation missing; on Node you can `import WebSocket from 'ws';` and pass `webSocketImpl: WebSocket` to `createClient`");const h=w,v=(()=>{const A=(()=>{const b={};return{on(E,P){return b[E]=P,()=>{delete b[E]}},emit(E){"id"in E&&b[E.id]?.(E)}}})(),R={connecting:f?.connecting?[f.connecting]:[],opened:f?.opened?[f.opened]:[],connected:f?.connected?[f.connected]:[],ping:f?.ping?[f.ping]:[],pong:f?.pong?[f.pong]:[],message:f?.message?[A.emit,f.message]:[A.emit],closed:f?.closed?[f.closed]:[],error:f?.error?[f.error]:[]};return{onMessage:A.on,on(b,E){const P=R[b];return P.push(E),()=>{const O=P.indexOf(E);O>-1&&P.splice(O,1)}},emit(b,...E){for(const P of[...R[b]])P(...E)}}})();function D(A){const R=[v.on("error",b=>{R.forEach(E=>E()),A(b)}),v.on("closed",b=>{R.forEach(E=>E()),A(b)})];return()=>R.forEach(b=>b())}let K,H=0,g,u=!1,q=0,U=!1;async function F(){clearTimeout(g);const[A,R]=await(K??(K=new Promise((P,O)=>(async()=>{if(u){if(await p(q),!H)return K=void 0,O({code:1e3,reason:"All Subscriptions Gone"});q++}v.emit("connecting",u);const T=new h(typeof t=="function"?await t():t,on);let ne,ue;function be(){isFinite(s)&&s>0&&(clearTimeout(ue),ue=setTimeout(()=>{T.readyState===h.OPEN&&(T.send(he({type:X.Ping})),v.emit("ping",!1,void 0))},s))}D(G=>{K=void 0,clearTimeout(ne),clearTimeout(ue),O(G),G instanceof ht&&(T.close(4499,"Terminated"),T.onerror=null,T.onclose=null)}),T.onerror=G=>v.emit("error",G),T.onclose=G=>v.emit("closed",G),T.onopen=async()=>{try{v.emit("opened",T);const G=typeof n=="function"?await n():n;if(T.readyState!==h.OPEN)return;T.send(he(G?{type:X.ConnectionInit,payload:G}:{type:X.ConnectionInit},S)),isFinite(d)&&d>0&&(ne=setTimeout(()=>{T.close(Y.ConnectionAcknowledgementTimeout,"Connection acknowledgement timeout")},d)),be()}catch(G){v.emit("error",G),T.close(Y.InternalClientError,pt(G instanceof Error?G.message:String(G),"Internal client error"))}};let de=!1;T.onmessage=({data:G})=>{try{const B=rn(G,I);if(v.emit("message",B),B.type==="ping"||B.type==="pong"){v.emit(B.type,!0,B.payload),B.type==="pong"?be():c||(T.send(he(B.payload?{type:X.Pong,payload:B.payload}:{type:X.Pong},S)),v.emit("pong",!1,B.payload));return}if(de)return;if(B.type!==X.ConnectionAck)throw new Error(`First message cannot be of type ${B.type}`);clearTimeout(ne),de=!0,v.emit("connected",T,B.payload,u),u=!1,q=0;const Ze=new Promise((Go,Mt)=>D(Mt));Ze.catch(()=>{}),P([T,Ze])}catch(B){T.onmessage=null,v.emit("error",B),T.close(Y.BadResponse,pt(B instanceof Error?B.message:String(B),"Bad response"))}}})())));A.readyState===h.CLOSING&&await R;let b=()=>{};const E=new Promise(P=>b=P);return[A,b,new Promise((P,O)=>{const T=D(O);A.readyState!==h.OPEN&&R.catch(O),E.then(()=>{if(T(),!H){const ne=()=>A.close(1e3,"Normal Closure");isFinite(i)&&i>0?(clearTimeout(g),g=setTimeout(()=>{!H&&A.readyState===h.OPEN&&ne()},i)):ne()}P()})})]}function L(A){if(Ue(A)&&(an(A.code)||[Y.InternalServerError,Y.InternalClientError,Y.BadRequest,Y.BadResponse,Y.Unauthorized,Y.SubprotocolNotAcceptable,Y.SubscriberAlreadyExists,Y.TooManyInitialisationRequests].includes(A.code)))throw A;if(U)return!1;if(Ue(A)&&A.code===1e3)return H>0;if(!m||q>=m||!_(A))throw A;return u=!0}r||(async()=>{for(H++;;)try{const[,,A]=await F();await A}catch(A){try{if(!L(A))return}catch(R){return a?.(R)}}})();function W(A,R){const b=y(A);let E=!1,P=!1,O=()=>{H--,E=!0};return(async()=>{for(H++;;)try{const[T,ne,ue]=await F();if(E)return ue.catch(()=>{}),ne();const be=v.onMessage(b,de=>{switch(de.type){case X.Next:{R.next(de.payload);return}case X.Error:{P=!0,E=!0,R.error(de.payload),O();return}case X.Complete:{E=!0,O();return}}});T.send(he({id:b,type:X.Subscribe,payload:A},S)),O=()=>{!E&&T.readyState===h.OPEN&&T.send(he({id:b,type:X.Complete},S)),H--,E=!0,ne()},await ue.finally(be);return}catch(T){if(!L(T))return}})().then(()=>{P||R.complete()}).catch(T=>{R.error(T)}),()=>{E||O()}}return{on:v.on,subscribe:W,iterate(A){const R=[],b={done:!1,error:null,resolve:()=>{}},E=W(A,{next(O){R.push(O),b.resolve()},error(O){b.done=!0,b.error=O,b.resolve()},complete(){b.done=!0,b.resolve()}}),P=(async function*(){for(;;){for(R.length||await new Promise(T=>b.resolve=T);R.length;)yield R.shift();if(b.error)throw b.error;if(b.done)return}})();return P.throw=async O=>(b.done||(b.done=!0,b.error=O,b.resolve()),{done:!0,value:void 0}),P.return=async()=>(E(),{done:!0,value:void 0}),P},async dispose(){if(U=!0,K){const[A]=await K;A.close(1e3,"Normal Closure")}},terminate(){K&&v.emit("closed",new ht)}}}class ht extends Error{constructor(){super(...arguments);pe(this,"name","TerminatedCloseEvent");pe(this,"message","4499: Terminated");pe(this,"code",4499);pe(this,"reason","Terminated");pe(this,"wasClean",!1)}}function Ue(e){return ae(e)&&"code"in e&&"reason"in e}function an(e){return[1e3,1001,1006,1005,1012,1013,1014].includes(e)?!1:e>=1e3&&e<=1999}function cn(e){return typeof e=="function"&&"constructor"in e&&"CLOSED"in e&&"CLOSING"in e&&"CONNECTING"in e&&"OPEN"in e}class k extends String{constructor(t,n){super(t),this.value=t,this.__meta__=n}toString(){return this.value}}const ln=new k(`
    mutation Refresh($refreshToken: String!) {
  refreshToken(refreshToken: $refreshToken) {
    accessToken
    refreshToken
    expiresIn
  }
}
    `),un=new k(`
    mutation Logout {
  logout
}
    `),dn=new k(`
    mutation UploadDocuments($files: [Upload!]!, $collection: String) {
  uploadDocuments(files: $files, collection: $collection) {
    filename
    job {
      id
      status
      progress
    }
  }
}
    `),pn=new k(`
    query Me {
  me {
    id
    username
    email
    role
    permissions
  }
}
    `),hn=new k(`
    query Sessions {
  sessions {
    id
    createdAt
    lastUsedAt
    expiresAt
    ip
    userAgent
    current
  }
}
    `),_n=new k(`
    mutation RevokeSession($id: ID!) {
  revokeSession(id: $id)
}
    `),mn=new k(`
    query ApiKeys {
  apiKeys {
    id
    name
    scopes
    createdAt
    lastUsedAt
    expiresAt
    revoked
  }
  me {
    permissions
  }
}
    `),fn=new k(`
    mutation CreateApiKey($input: CreateApiKeyInput!) {
  createApiKey(input: $input) {
    key
    apiKey {
      id
      name
    }
  }
}
    `),gn=new k(`
    mutation RevokeApiKey($id: ID!) {
  revokeApiKey(id: $id)
}
    `),yn=new k(`
    query Users($search: String, $after: String) {
  users(first: 50, search: $search, after: $after) {
    nodes {
      id
      username
      email
      role
      active
      createdAt
    }
    pageInfo {
      endCursor
      hasNextPage
    }
  }
}
    `),bn=new k(`
    mutation SetUserRole($userId: ID!, $role: Role!) {
  setUserRole(userId: $userId, role: $role) {
    id
    role
  }
}
    `),vn=new k(`
    mutation SetUserActive($userId: ID!, $active: Boolean!) {
  setUserActive(userId: $userId, active: $active) {
    id
    active
  }
}
    `),$n=new k(`
    query AuditLog($filter: AuditFilter) {
  auditLog(filter: $filter, first: 50) {
    nodes {
      id
      at
      actor
      actorType
      action
      resource
      outcome
      ip
      requestId
      detail
    }
  }
}
    `),wn=new k(`
    subscription Health {
  health(intervalSeconds: 5) {
    status
    services {
      name
      status
      version
      latencyMs
      detail
    }
  }
}
    `),In=new k(`
    query Conversations {
  conversations(first: 50) {
    nodes {
      id
      title
      updatedAt
    }
  }
}
    `),Sn=new k(`
    query Conversation($id: ID!) {
  conversation(id: $id) {
    id
    title
    messages {
      role
      content
      runId
      at
    }
  }
}
    `),An=new k(`
    subscription AgentRun($input: AgentRunInput!) {
  agentRun(input: $input) {
    runId
    seq
    type
    delta
    tool
    data
  }
}
    `),kn=new k(`
    subscription AgentRunEvents($runId: ID!, $afterSeq: Int!) {
  agentRunEvents(runId: $runId, afterSeq: $afterSeq) {
    runId
    seq
    type
    delta
    tool
    data
  }
}
    `),Cn=new k(`
    mutation DeleteConversation($id: ID!) {
  deleteConversation(id: $id)
}
    `),Dn=new k(`
    mutation CancelAgentRun($runId: ID!) {
  cancelAgentRun(runId: $runId) {
    id
    status
  }
}
    `),Tn=new k(`
    query Ask($question: String!, $collections: [String!]) {
  ask(question: $question, collections: $collections) {
    answer
    mode
    found
    citations {
      documentId
      title
      chunkId
      snippet
      score
    }
  }
}
    `),En=new k(`
    query CollectionNames {
  collections {
    name
  }
}
    `),Nn=new k(`
    query Collections {
  collections {
    id
    name
    visibility
    role
    owner
    subscribed
    members {
      userId
      role
    }
  }
  collectionInvitations {
    id
    name
    visibility
    owner
  }
}
    `),Rn=new k(`
    mutation SubscribeCollection($collection: String!) {
  subscribeCollection(collection: $collection) {
    id
  }
}
    `),xn=new k(`
    mutation UnsubscribeCollection($collection: String!) {
  unsubscribeCollection(collection: $collection)
}
    `),qn=new k(`
    mutation AcceptInvitation($collection: ID!) {
  acceptCollectionInvitation(collection: $collection) {
    id
  }
}
    `),Un=new k(`
    mutation CreateCollection($name: String!, $visibility: CollectionVisibility!) {
  createCollection(name: $name, visibility: $visibility) {
    id
  }
}
    `),Ln=new k(`
    mutation AddMember($collection: String!, $userId: ID!, $role: CollectionMemberRole!) {
  addCollectionMember(collection: $collection, userId: $userId, role: $role) {
    id
  }
}
    `),Pn=new k(`
    query Documents($collection: String, $after: String) {
  documents(collection: $collection, first: 20, after: $after) {
    totalCount
    nodes {
      id
      title
      collectionName
      mimeType
      sizeBytes
      chunkCount
      status
      error
      createdAt
    }
    pageInfo {
      endCursor
      hasNextPage
    }
  }
}
    `),On=new k(`
    mutation DeleteDocument($id: ID!) {
  deleteDocument(id: $id) {
    id
  }
}
    `),Mn=new k(`
    query Search($query: String!, $collections: [String!]) {
  search(query: $query, collections: $collections, topK: 10) {
    chunkId
    documentId
    title
    content
    score
  }
}
    `),Kn=new k(`
    mutation CancelIngestionJob($id: ID!) {
  cancelIngestionJob(id: $id) {
    id
    status
  }
}
    `),Hn=new k(`
    subscription IngestionProgress($jobId: ID!) {
  ingestionProgress(jobId: $jobId) {
    id
    status
    progress
    error
    chunkCount
    documentId
  }
}
    `),Fn=new k(`
    mutation Login($input: LoginInput!) {
  login(input: $input) {
    accessToken
    refreshToken
    expiresIn
  }
}
    `),Wn=new k(`
    mutation Register($input: RegisterInput!) {
  register(input: $input) {
    id
  }
}
    `),jn={"\n  mutation Refresh($refreshToken: String!) {\n    refreshToken(refreshToken: $refreshToken) { accessToken refreshToken expiresIn }\n  }\n":ln,"mutation Logout { logout }":un,"\n  mutation UploadDocuments($files: [Upload!]!, $collection: String) {\n    uploadDocuments(files: $files, collection: $collection) { filename job { id status progress } }\n  }\n":dn,"query Me { me { id username email role permissions } }":pn,"query Sessions { sessions { id createdAt lastUsedAt expiresAt ip userAgent current } }":hn,"mutation RevokeSession($id: ID!) { revokeSession(id: $id) }":_n,"query ApiKeys { apiKeys { id name scopes createdAt lastUsedAt expiresAt revoked } me { permissions } }":mn,"\n  mutation CreateApiKey($input: CreateApiKeyInput!) { createApiKey(input: $input) { key apiKey { id name } } }\n":fn,"mutation RevokeApiKey($id: ID!) { revokeApiKey(id: $id) }":gn,"\n  query Users($search: String, $after: String) {\n    users(first: 50, search: $search, after: $after) { nodes { id username email role active createdAt } pageInfo { endCursor hasNextPage } }\n  }\n":yn,"mutation SetUserRole($userId: ID!, $role: Role!) { setUserRole(userId: $userId, role: $role) { id role } }":bn,"mutation SetUserActive($userId: ID!, $active: Boolean!) { setUserActive(userId: $userId, active: $active) { id active } }":vn,"\n  query AuditLog($filter: AuditFilter) {\n    auditLog(filter: $filter, first: 50) { nodes { id at actor actorType action resource outcome ip requestId detail } }\n  }\n":$n,"\n  subscription Health { health(intervalSeconds: 5) { status services { name status version latencyMs detail } } }\n":wn,"\n  query Conversations { conversations(first: 50) { nodes { id title updatedAt } } }\n":In,"\n  query Conversation($id: ID!) { conversation(id: $id) { id title messages { role content runId at } } }\n":Sn,"\n  subscription AgentRun($input: AgentRunInput!) { agentRun(input: $input) { runId seq type delta tool data } }\n":An,"\n  subscription AgentRunEvents($runId: ID!, $afterSeq: Int!) {\n    agentRunEvents(runId: $runId, afterSeq: $afterSeq) { runId seq type delta tool data }\n  }\n":kn,"mutation DeleteConversation($id: ID!) { deleteConversation(id: $id) }":Cn,"mutation CancelAgentRun($runId: ID!) { cancelAgentRun(runId: $runId) { id status } }":Dn,"\n  query Ask($question: String!, $collections: [String!]) {\n    ask(question: $question, collections: $collections) { answer mode found citations { documentId title chunkId snippet score } }\n  }\n":Tn,"query CollectionNames { collections { name } }":En,"\n  query Collections {\n    collections { id name visibility role owner subscribed members { userId role } }\n    collectionInvitations { id name visibility owner }\n  }\n":Nn,"mutation SubscribeCollection($collection: String!) { subscribeCollection(collection: $collection) { id } }":Rn,"mutation UnsubscribeCollection($collection: String!) { unsubscribeCollection(collection: $collection) }":xn,"mutation AcceptInvitation($collection: ID!) { acceptCollectionInvitation(collection: $collection) { id } }":qn,"\n  mutation CreateCollection($name: String!, $visibility: CollectionVisibility!) {\n    createCollection(name: $name, visibility: $visibility) { id }\n  }\n":Un,"\n  mutation AddMember($collection: String!, $userId: ID!, $role: CollectionMemberRole!) {\n    addCollectionMember(collection: $collection, userId: $userId, role: $role) { id }\n  }\n":Ln,"\n  query Documents($collection: String, $after: String) {\n    documents(collection: $collection, first: 20, after: $after) {\n      totalCount\n      nodes { id title collectionName mimeType sizeBytes chunkCount status error createdAt }\n      pageInfo { endCursor hasNextPage }\n    }\n  }\n":Pn,"mutation DeleteDocument($id: ID!) { deleteDocument(id: $id) { id } }":On,"\n  query Search($query: String!, $collections: [String!]) {\n    search(query: $query, collections: $collections, topK: 10) { chunkId documentId title content score }\n  }\n":Mn,"mutation CancelIngestionJob($id: ID!) { cancelIngestionJob(id: $id) { id status } }":Kn,"\n  subscription IngestionProgress($jobId: ID!) {\n    ingestionProgress(jobId: $jobId) { id status progress error chunkCount documentId }\n  }\n":Hn,"\n  mutation Login($input: LoginInput!) { login(input: $input) { accessToken refreshToken expiresIn } }\n":Fn,"mutation Register($input: RegisterInput!) { register(input: $input) { id } }":Wn};function C(e){return jn[e]??{}}const Ye="agenthub.refresh",Xe="/graphql";class V extends Error{constructor(t,n,r={}){super(t),this.code=n,this.extensions=r}}function Rt(e){if(!(e instanceof V))return`The request failed: ${e instanceof Error?e.message:String(e)}`;const t=e.extensions;switch(e.code){case"UNAUTHENTICATED":return`Please sign in (${e.message})`;case"FORBIDDEN":return"Your role or API key does not allow this.";case"BAD_REQUEST":return`The console sent a malformed request: ${e.message}`;case"BAD_USER_INPUT":{const n=t.fields;return`Check your input: ${(n?Object.entries(n).map(([a,i])=>`${a}: ${i}`).join("; "):"")||e.message}`}case"NOT_FOUND":return"Not found (it does not exist, or you may not see it).";case"CONFLICT":return`That exists already: ${e.message}`;case"RATE_LIMITED":return`Too many requests: try again in ${t.retryAfter??"a few"} s.`;case"SERVICE_UNAVAILABLE":return"A service is not reachable right now; try again shortly.";case"TIMEOUT":return"A service did not answer in time; try again.";case"INTERNAL":return`Unexpected error on the server (request id ${t.requestId??"unknown"}).`;case"NETWORK":return`Cannot reach the gateway: ${e.message}`;default:return`${e.code}: ${e.message}`}}let z=null,We,_e=null;const De=new Set,Le={get signedIn(){return z!==null},get token(){return z},onChange(e){return De.add(e),()=>De.delete(e)}},Bn=C(`
  mutation Refresh($refreshToken: String!) {
    refreshToken(refreshToken: $refreshToken) { accessToken refreshToken expiresIn }
  }
`),Gn=C("mutation Logout { logout }");function xt(e){const t=z!==null;z=e.accessToken,sessionStorage.setItem(Ye,e.refreshToken),window.clearTimeout(We),We=window.setTimeout(()=>void xe(),Math.max(5,e.expiresIn*.8)*1e3),t||De.forEach(n=>n(!0))}function Re(){z=null,sessionStorage.removeItem(Ye),window.clearTimeout(We),Yn(),De.forEach(e=>e(!1))}function xe(){if(_e)return _e;const e=sessionStorage.getItem(Ye);return e?(_e=(async()=>{try{const t=await je(Bn,{refreshToken:e},null);return xt(t.refreshToken),!0}catch(t){return t instanceof V&&t.code==="NETWORK"||Re(),!1}finally{_e=null}})(),_e):Promise.resolve(!1)}async function zn(){try{await N(Gn)}catch{}Re()}async function qt(e){let t;try{t=await e.json()}catch{throw new V(`HTTP ${e.status}`,e.status===429?"RATE_LIMITED":"NETWORK")}if(t.errors?.length){const n=t.errors[0];throw new V(n.message,n.extensions?.code??"INTERNAL",n.extensions??{})}return t.data}async function je(e,t,n){let r;try{r=await fetch(Xe,{method:"POST",headers:{"Content-Type":"application/json",...n?{Authorization:`Bearer ${n}`}:{}},body:JSON.stringify({query:e.toString(),variables:t})})}catch(a){throw new V(String(a),"NETWORK")}return qt(r)}function Jn(e){return e instanceof V&&e.code==="UNAUTHENTICATED"&&e.extensions.reason==="expired"}async function N(e,t){try{return await je(e,t,z)}catch(n){if(Jn(n)&&await xe())return je(e,t,z);throw n instanceof V&&n.code==="UNAUTHENTICATED"&&z&&Re(),n}}function Vn(e,t,n){const r={query:Qn.toString(),variables:{files:e.map(()=>null),collection:t}},a=new FormData;return a.append("operations",JSON.stringify(r)),a.append("map",JSON.stringify(Object.fromEntries(e.map((i,s)=>[String(s),[`variables.files.${s}`]])))),e.forEach((i,s)=>a.append(String(s),i,i.name)),new Promise((i,s)=>{const c=new XMLHttpRequest;c.open("POST",Xe),c.setRequestHeader("GraphQL-Preflight","1"),z&&c.setRequestHeader("Authorization",`Bearer ${z}`),c.upload.onprogress=d=>d.lengthComputable&&n(d.loaded/d.total),c.onerror=()=>s(new V("upload failed","NETWORK")),c.onload=()=>{let d;try{d=JSON.parse(c.responseText)}catch{return s(new V(`HTTP ${c.status}`,"NETWORK"))}const m=d.errors??[],p=d.data?.uploadDocuments;if(!p){const _=m[0]??{message:`HTTP ${c.status}`};return s(new V(_.message,_.extensions?.code??"INTERNAL",_.extensions??{}))}i(p.map((_,f)=>{const l=m.find(y=>Array.isArray(y.path)&&y.path[1]===f);return{filename:_.filename,jobId:_.job?.id??null,error:l?l.extensions?.fields?Object.values(l.extensions.fields).join("; "):l.message:null}}))},c.send(a)})}const Qn=C(`
  mutation UploadDocuments($files: [Upload!]!, $collection: String) {
    uploadDocuments(files: $files, collection: $collection) { filename job { id status progress } }
  }
`);async function Ut(e,t){const n=await fetch(e,{headers:z?{Authorization:`Bearer ${z}`}:{}});n.ok||await qt(n);const r=URL.createObjectURL(await n.blob());Object.assign(document.createElement("a"),{href:r,download:t}).click(),URL.revokeObjectURL(r)}let Te=null;function Yn(){Te?.dispose(),Te=null}function Lt(e){const t=`${location.protocol==="https:"?"wss":"ws"}://${location.host}${Xe}`;return sn({url:t,lazy:!0,retryAttempts:e,shouldRetry:()=>!0,connectionParams:async()=>(z||await xe(),z?{Authorization:`Bearer ${z}`}:{})})}function Xn(){return Te??(Te=Lt(5)),Te}function Ee(e,t,n,r={}){const a=r.once?Lt(0):Xn(),i=a.subscribe({query:e.toString(),variables:t},{next:s=>{if(s.errors?.length){const c=s.errors[0];n.error?.(new V(c.message,c.extensions?.code??"INTERNAL",c.extensions??{}))}else s.data&&n.next(s.data)},error:s=>{if(Array.isArray(s)){const c=s[0];n.error?.(new V(c.message,c.extensions?.code??"INTERNAL",c.extensions??{}))}else s instanceof CloseEvent?n.error?.(new V(s.reason||`socket closed (${s.code})`,s.code===4403?"UNAUTHENTICATED":"NETWORK")):n.error?.(new V(String(s),"NETWORK"))},complete:()=>n.complete?.()});return r.once?()=>{i(),a.dispose()}:i}function Z(){const[e,t]=$(null),[n,r]=$(!1),a=Zt(async i=>{r(!0),t(null);try{return await i()}catch(s){t(Rt(s));return}finally{r(!1)}},[]);return{error:e,setError:t,busy:n,run:a}}function Q({error:e}){return e?o("p",{class:"error",role:"alert",children:e}):null}function re({title:e,children:t}){const n=`h-${e.toLowerCase().replace(/\W+/g,"-")}`;return o("section",{"aria-labelledby":n,children:[o("h2",{id:n,children:e}),t]})}function oe(e){return e?new Date(e).toLocaleString():"—"}const Zn=C(`
  mutation Login($input: LoginInput!) { login(input: $input) { accessToken refreshToken expiresIn } }
`),eo=C("mutation Register($input: RegisterInput!) { register(input: $input) { id } }");function to(){const[e,t]=$("signin"),[n,r]=$(""),[a,i]=$(""),[s,c]=$(""),{error:d,busy:m,run:p}=Z(),[_,f]=$(null);return o("main",{class:"narrow",children:[o("h1",{children:e==="signin"?"Sign in to AgentHub":"Create an AgentHub account"}),o("form",{onSubmit:y=>{y.preventDefault(),p(async()=>{e==="register"&&(await N(eo,{input:{username:n,password:a,email:s||null}}),f("Account created."));const S=await N(Zn,{input:{username:n,password:a}});xt(S.login)})},children:[o("label",{children:["Username",o("input",{name:"username",autoComplete:"username",required:!0,value:n,onInput:y=>r(y.currentTarget.value)})]}),o("label",{children:["Password",o("input",{name:"password",type:"password",required:!0,autoComplete:e==="signin"?"current-password":"new-password",value:a,onInput:y=>i(y.currentTarget.value)})]}),e==="register"&&o("label",{children:["Email (optional)",o("input",{name:"email",type:"email",autoComplete:"email",value:s,onInput:y=>c(y.currentTarget.value)})]}),o("button",{type:"submit",disabled:m,children:e==="signin"?"Sign in":"Register"})]}),o(Q,{error:d}),_&&o("p",{role:"status",children:_}),o("p",{children:[e==="signin"?"No account yet? ":"Have an account? ",o("button",{type:"button",class:"link",onClick:()=>t(e==="signin"?"register":"signin"),children:e==="signin"?"Register":"Sign in"})]})]})}const no=C(`
  query Collections {
    collections { id name visibility role owner subscribed members { userId role } }
    collectionInvitations { id name visibility owner }
  }
`),oo=C("mutation SubscribeCollection($collection: String!) { subscribeCollection(collection: $collection) { id } }"),ro=C("mutation UnsubscribeCollection($collection: String!) { unsubscribeCollection(collection: $collection) }"),io=C("mutation AcceptInvitation($collection: ID!) { acceptCollectionInvitation(collection: $collection) { id } }"),so=C(`
  mutation CreateCollection($name: String!, $visibility: CollectionVisibility!) {
    createCollection(name: $name, visibility: $visibility) { id }
  }
`),ao=C(`
  mutation AddMember($collection: String!, $userId: ID!, $role: CollectionMemberRole!) {
    addCollectionMember(collection: $collection, userId: $userId, role: $role) { id }
  }
`),_t=C(`
  query Documents($collection: String, $after: String) {
    documents(collection: $collection, first: 20, after: $after) {
      totalCount
      nodes { id title collectionName mimeType sizeBytes chunkCount status error createdAt }
      pageInfo { endCursor hasNextPage }
    }
  }
`),co=C("mutation DeleteDocument($id: ID!) { deleteDocument(id: $id) { id } }"),lo=C(`
  query Search($query: String!, $collections: [String!]) {
    search(query: $query, collections: $collections, topK: 10) { chunkId documentId title content score }
  }
`),uo=C("mutation CancelIngestionJob($id: ID!) { cancelIngestionJob(id: $id) { id status } }"),po=C(`
  subscription IngestionProgress($jobId: ID!) {
    ingestionProgress(jobId: $jobId) { id status progress error chunkCount documentId }
  }
`);function ho(){const[e,t]=$([]),[n,r]=$([]),[a,i]=$(""),[s,c]=$(null),[d,m]=$([]),[p,_]=$(null),[f,l]=$(""),[y,S]=$(!1),I=Z(),w=Z(),h=Z(),v=()=>I.run(async()=>{const u=await N(no);t(u.collections),r(u.collectionInvitations)}),D=u=>I.run(async()=>{await u(),await v()}),K=()=>I.run(async()=>c((await N(_t,{collection:a||null})).documents));ee(()=>{v()},[]),ee(()=>{K()},[a]);const H=(u,q)=>m(U=>U.map(F=>F.key===u?{...F,...q}:F)),g=u=>{if(!u.length)return;const q=`${Date.now()}`,U=u.map((F,L)=>({key:`${q}-${L}`,name:F.name,phase:"uploading",progress:0,detail:""}));m(F=>[...U,...F]),w.run(async()=>{(await Vn(u,a||null,L=>U.forEach(W=>H(W.key,{progress:L*.3})))).forEach((L,W)=>{const A=U[W].key;if(!L.jobId)return H(A,{phase:"refused",progress:0,detail:L.error??"refused"});H(A,{phase:"QUEUED",progress:.3,jobId:L.jobId});const R=Ee(po,{jobId:L.jobId},{next:({ingestionProgress:b})=>{H(A,{phase:b.status,progress:.3+.7*b.progress,detail:b.status==="DONE"?`${b.chunkCount??0} chunks`:b.error??""}),(b.status==="DONE"||b.status==="FAILED"||b.status==="CANCELLED")&&(R(),K())},error:b=>H(A,{detail:b.message})})})}).catch(()=>{})};return ee(()=>{w.error&&m(u=>u.map(q=>q.phase==="uploading"?{...q,phase:"refused",detail:w.error}:q))},[w.error]),o(te,{children:[o("h1",{children:"Documents"}),o(re,{title:"Collections",children:[o(_o,{onCreated:v}),o("label",{children:["Show collection",o("select",{value:a,onChange:u=>i(u.currentTarget.value),children:[o("option",{value:"",children:"All I may read"}),e.map(u=>o("option",{value:u.name,children:[u.name," (",u.visibility.toLowerCase(),", ",u.role.toLowerCase(),u.subscribed?", subscribed":"",")"]}))]})]}),n.length>0&&o("ul",{"aria-label":"Invitations",children:n.map(u=>o("li",{children:["Invitation to ",o("strong",{children:u.name})," (",u.visibility.toLowerCase(),")"," ",o("button",{type:"button",onClick:()=>void D(()=>N(io,{collection:u.id})),children:["Accept ",u.name]})]}))}),e.filter(u=>u.name===a&&u.role==="READER").map(u=>o("p",{children:[u.subscribed?"Searched by default (subscribed). ":"Another user's public collection: searched only when chosen. ",o("button",{type:"button",onClick:()=>void D(()=>u.subscribed?N(ro,{collection:u.name}):N(oo,{collection:u.name})),children:u.subscribed?"Unsubscribe":"Subscribe"})]})),e.filter(u=>u.name===a&&(u.role==="OWNER"||u.role==="ADMIN")).map(u=>o(mo,{collection:u.name,members:u.members,onChanged:v}))]}),o(re,{title:"Upload",children:[o("div",{class:`drop ${y?"over":""}`,onDragOver:u=>{u.preventDefault(),S(!0)},onDragLeave:()=>S(!1),onDrop:u=>{u.preventDefault(),S(!1),g([...u.dataTransfer?.files??[]])},children:[o("p",{children:["Drop .txt, .md, .html, .pdf or .docx files here",a?` (into ${a})`:"",", or"]}),o("label",{class:"button",children:["Choose files",o("input",{type:"file",multiple:!0,class:"visually-hidden","aria-label":"Choose files to upload",onChange:u=>{g([...u.currentTarget.files??[]]),u.currentTarget.value=""}})]})]}),o(Q,{error:w.error}),o("ul",{class:"uploads","aria-label":"Uploads",children:d.map(u=>o("li",{"data-file":u.name,"data-phase":u.phase,children:[o("span",{class:"name",children:u.name}),o("progress",{max:1,value:u.progress,"aria-label":`${u.name} progress`}),o("span",{class:`phase ${u.phase==="refused"||u.phase==="FAILED"?"error":""}`,children:u.phase}),u.detail&&o("span",{class:"detail",children:u.detail}),u.jobId&&(u.phase==="QUEUED"||u.phase==="RUNNING")&&o("button",{type:"button","aria-label":`Cancel ${u.name}`,onClick:()=>void w.run(()=>N(uo,{id:u.jobId})),children:"Cancel"})]}))})]}),o(re,{title:"Search",children:[o("form",{class:"row",onSubmit:u=>{u.preventDefault(),h.run(async()=>_((await N(lo,{query:f,collections:a?[a]:null})).search))},children:[o("input",{"aria-label":"Search passages",placeholder:"Search passages",required:!0,value:f,onInput:u=>l(u.currentTarget.value)}),o("button",{type:"submit",disabled:h.busy,children:"Search"})]}),o(Q,{error:h.error}),p&&(p.length?o("ol",{class:"hits",children:p.map(u=>o("li",{children:[o("strong",{children:u.title})," ",o("span",{class:"muted",children:["score ",u.score.toFixed(3)]}),o("p",{children:u.content})]}))}):o("p",{children:"No passages found."}))]}),o(re,{title:"Library",children:[o("button",{type:"button",onClick:()=>void K(),children:"Refresh"}),o(Q,{error:I.error}),s&&o("p",{class:"muted",children:[s.totalCount," document(s)"]}),o("div",{class:"table-wrap",children:o("table",{children:[o("thead",{children:o("tr",{children:[o("th",{children:"Title"}),o("th",{children:"Collection"}),o("th",{children:"Status"}),o("th",{children:"Chunks"}),o("th",{children:"Added"}),o("th",{children:o("span",{class:"visually-hidden",children:"Actions"})})]})}),o("tbody",{children:s?.nodes.map(u=>o("tr",{"data-document":u.title,children:[o("td",{children:u.title}),o("td",{children:u.collectionName}),o("td",{class:u.status==="FAILED"?"error":"",children:[u.status,u.error?`: ${u.error}`:""]}),o("td",{children:u.chunkCount}),o("td",{children:oe(u.createdAt)}),o("td",{class:"actions",children:[o("button",{type:"button","aria-label":`Download ${u.title}`,onClick:()=>void I.run(()=>Ut(`/rag/documents/${u.id}/download`,u.title)),children:"Download"}),o("button",{type:"button","aria-label":`Delete ${u.title}`,onClick:()=>{confirm(`Delete ${u.title}?`)&&I.run(async()=>{await N(co,{id:u.id}),await K()})},children:"Delete"})]})]}))})]})}),s?.pageInfo.hasNextPage&&o("button",{type:"button",onClick:()=>void I.run(async()=>{const u=(await N(_t,{collection:a||null,after:s.pageInfo.endCursor})).documents;c({...u,nodes:[...s.nodes,...u.nodes]})}),children:"More"})]})]})}function _o({onCreated:e}){const[t,n]=$(""),[r,a]=$("PRIVATE"),{error:i,busy:s,run:c}=Z();return o("form",{class:"row",onSubmit:d=>{d.preventDefault(),c(async()=>{await N(so,{name:t,visibility:r}),n(""),e()})},children:[o("input",{"aria-label":"New collection name",placeholder:"New collection",required:!0,value:t,onInput:d=>n(d.currentTarget.value)}),o("select",{"aria-label":"Visibility",value:r,onChange:d=>a(d.currentTarget.value),children:[o("option",{value:"PRIVATE",children:"Private"}),o("option",{value:"PUBLIC",children:"Public"})]}),o("button",{type:"submit",disabled:s,children:"Create collection"}),o(Q,{error:i})]})}function mo({collection:e,members:t,onChanged:n}){const[r,a]=$(""),[i,s]=$("VIEWER"),{error:c,busy:d,run:m}=Z();return o("div",{children:[o("h3",{children:["Members of ",e]}),o("ul",{children:[t.map(p=>o("li",{children:[p.userId,": ",p.role.toLowerCase()]})),!t.length&&o("li",{class:"muted",children:"none"})]}),o("form",{class:"row",onSubmit:p=>{p.preventDefault(),m(async()=>{await N(ao,{collection:e,userId:r,role:i}),a(""),n()})},children:[o("input",{"aria-label":"User id",placeholder:"User id",required:!0,value:r,onInput:p=>a(p.currentTarget.value)}),o("select",{"aria-label":"Member role",value:i,onChange:p=>s(p.currentTarget.value),children:[o("option",{value:"VIEWER",children:"Viewer"}),o("option",{value:"EDITOR",children:"Editor"})]}),o("button",{type:"submit",disabled:d,children:"Invite member"}),o(Q,{error:c})]})]})}function Pt({text:e,prefix:t,count:n}){const r=e.split(/(\[\d+\])/g);return o("p",{class:"answer",children:r.map(a=>{const i=/^\[(\d+)\]$/.exec(a)?.[1];return i&&+i>=1&&+i<=n?o("a",{href:`#${t}-${i}`,class:"cite","aria-label":`citation ${i}`,onClick:s=>{s.preventDefault(),document.getElementById(`${t}-${i}`)?.focus()},children:["[",i,"]"]}):a})})}function Ot({items:e,prefix:t}){return e.length?o("ol",{class:"citations","aria-label":"Citations",children:e.map((n,r)=>o("li",{id:`${t}-${r+1}`,tabIndex:-1,"data-citation":r+1,children:[o("strong",{children:["[",r+1,"] ",n.title]}),o("blockquote",{children:n.snippet}),o("a",{href:`/rag/documents/${n.documentId}/download`,onClick:a=>{a.preventDefault(),Ut(`/rag/documents/${n.documentId}/download`,n.title).catch(()=>{})},children:"Open the document"})]}))}):null}const fo=C(`
  query Ask($question: String!, $collections: [String!]) {
    ask(question: $question, collections: $collections) { answer mode found citations { documentId title chunkId snippet score } }
  }
`),go=C("query CollectionNames { collections { name } }");function yo(){const[e,t]=$([]),[n,r]=$(""),[a,i]=$(""),[s,c]=$(null),{error:d,busy:m,run:p}=Z();return ee(()=>{p(async()=>t((await N(go)).collections.map(_=>_.name)))},[]),o(te,{children:[o("h1",{children:"Ask"}),o("form",{class:"row",onSubmit:_=>{_.preventDefault(),p(async()=>c((await N(fo,{question:a,collections:n?[n]:null})).ask))},children:[o("input",{"aria-label":"Question",placeholder:"Ask a question about your documents",required:!0,value:a,onInput:_=>i(_.currentTarget.value)}),o("select",{"aria-label":"Collection to ask",value:n,onChange:_=>r(_.currentTarget.value),children:[o("option",{value:"",children:"All I search by default"}),e.map(_=>o("option",{value:_,children:_}))]}),o("button",{type:"submit",disabled:m,children:m?"Asking…":"Ask"})]}),o(Q,{error:d}),s&&o("article",{"aria-label":"Answer","aria-live":"polite",children:[o("p",{class:"badge","data-mode":s.mode,children:s.mode==="GENERATIVE"?"Generated answer":"Extractive answer (quoted passages)"}),s.found?o(Pt,{text:s.answer,prefix:"ask-cite",count:s.citations.length}):o("p",{children:"Nothing relevant was found in the documents you may read."}),o(Ot,{items:s.citations,prefix:"ask-cite"})]})]})}const bo=C(`
  query Conversations { conversations(first: 50) { nodes { id title updatedAt } } }
`),vo=C(`
  query Conversation($id: ID!) { conversation(id: $id) { id title messages { role content runId at } } }
`),$o=C(`
  subscription AgentRun($input: AgentRunInput!) { agentRun(input: $input) { runId seq type delta tool data } }
`),wo=C(`
  subscription AgentRunEvents($runId: ID!, $afterSeq: Int!) {
    agentRunEvents(runId: $runId, afterSeq: $afterSeq) { runId seq type delta tool data }
  }
`),Io=C("mutation DeleteConversation($id: ID!) { deleteConversation(id: $id) }"),So=C("mutation CancelAgentRun($runId: ID!) { cancelAgentRun(runId: $runId) { id status } }"),me="agenthub.run";function Ao(e,t){if(t.seq<=e.seq)return e;const n=t.data??{},r={...e,runId:t.runId,seq:t.seq};switch(t.type){case"RUN_STARTED":r.conversationId=n.conversationId??e.conversationId,r.mode=n.mode??"";break;case"TOKEN":r.text=e.text+(t.delta??"");break;case"TOOL_CALL":r.steps=[...e.steps,{tool:t.tool??"?",arguments:n.arguments,summary:null,error:!1}];break;case"TOOL_RESULT":{const a=[...e.steps],i=a.map(s=>s.summary===null&&s.tool===t.tool).lastIndexOf(!0);i>=0&&(a[i]={...a[i],summary:n.summary??"",error:!!n.error}),r.steps=a;break}case"CITATION":r.citations=[...e.citations,{documentId:n.document_id??n.documentId,title:n.title,snippet:n.snippet,score:n.score}];break;case"RUN_FINISHED":r.status=n.status==="CANCELLED"?"CANCELLED":"FINISHED",!r.text&&n.answer&&(r.text=n.answer);break;case"RUN_FAILED":r.status=n.status==="CANCELLED"?"CANCELLED":"FAILED",r.error=n.error??n.message??"The run failed.";break}return r}function ko(e,t){if(!t)return e;const n=e.filter(a=>!(t.runId&&a.runId===t.runId)),r=n[n.length-1];return r&&r.role==="USER"&&r.content===t.question?n.slice(0,-1):n}function mt(){try{return JSON.parse(sessionStorage.getItem(me)??"null")}catch{return null}}function Co(){const[e,t]=$([]),[n,r]=$(mt()?.conversationId??null),[a,i]=$([]),[s,c]=$(""),[d,m]=$(mt()),[p,_]=$(null),f=lt(null),l=lt(d),{error:y,run:S}=Z(),I=()=>S(async()=>t((await N(bo)).conversations.nodes)),w=g=>{if(r(g),!g)return i([]);S(async()=>i((await N(vo,{id:g})).conversation.messages??[]))},h=g=>{const u=Ao(l.current,g);l.current=u,sessionStorage.setItem(me,JSON.stringify(u)),m(u),u.status!=="RUNNING"&&(f.current?.(),f.current=null,u.conversationId&&r(u.conversationId),I())},v={error:g=>_(Rt(g)),complete:()=>{f.current=null}},D=(g,u)=>{f.current=Ee(wo,{runId:g,afterSeq:u},{next:q=>h(q.agentRunEvents),...v})};ee(()=>{I(),n&&w(n);const g=l.current;return g?.runId&&g.status==="RUNNING"&&D(g.runId,g.seq),()=>f.current?.()},[]);const K=g=>{if(g.preventDefault(),!s.trim()||d?.status==="RUNNING")return;_(null);const u={runId:null,conversationId:n,question:s,seq:0,text:"",steps:[],citations:[],status:"RUNNING",mode:"",error:null};l.current=u,m(u),sessionStorage.setItem(me,JSON.stringify(u)),f.current=Ee($o,{input:{message:s,conversationId:n}},{next:q=>h(q.agentRun),complete:v.complete,error:q=>{const U=l.current;q.code==="NETWORK"&&U?.runId&&U.status==="RUNNING"?D(U.runId,U.seq):v.error(q)}},{once:!0}),c("")},H=()=>{const g=l.current?.runId;g&&S(async()=>{await N(So,{runId:g})})};return o(te,{children:[o("h1",{children:"Agent"}),o("div",{class:"split",children:[o("nav",{"aria-label":"Conversations",class:"side",children:[o("button",{type:"button",onClick:()=>{w(null),m(null),sessionStorage.removeItem(me)},children:"New conversation"}),o("ul",{children:e.map(g=>o("li",{children:[o("a",{href:"#/agent","aria-current":g.id===n?"true":void 0,onClick:u=>{u.preventDefault(),w(g.id),l.current?.status!=="RUNNING"&&m(null)},children:g.title||"Untitled"})," ",o("span",{class:"muted",children:oe(g.updatedAt)})," ",o("button",{type:"button",class:"link","aria-label":`Delete conversation ${g.title||"Untitled"}`,onClick:()=>confirm(`Delete “${g.title||"Untitled"}”?`)&&void S(async()=>{await N(Io,{id:g.id}),g.id===n&&(w(null),m(null),sessionStorage.removeItem(me)),await I()}),children:"delete"})]}))})]}),o("section",{class:"chat","aria-label":"Chat",children:[o(Q,{error:y}),o("ol",{class:"messages",children:ko(a,d).map(g=>o("li",{class:g.role.toLowerCase(),children:[o("span",{class:"visually-hidden",children:[g.role==="USER"?"You":"Agent",": "]}),g.content]}))}),d&&o("article",{class:"live","aria-label":"Current run","data-status":d.status,"data-run":d.runId??"",children:[o("p",{class:"user",children:d.question}),d.mode&&o("p",{class:"badge",children:["mode: ",d.mode.toLowerCase().replace("_"," ")]}),d.steps.length>0&&o("ol",{class:"steps","aria-label":"Tool steps",children:d.steps.map(g=>o("li",{class:g.error?"error":"","data-tool":g.tool,children:[o("code",{children:g.tool}),"(",o("code",{children:JSON.stringify(g.arguments)}),") → ",g.summary??"running…"]}))}),o("div",{class:"assistant","aria-live":"polite","data-testid":"answer",children:[o(Pt,{text:d.text,prefix:"run-cite",count:d.citations.length}),d.status==="RUNNING"&&o("span",{class:"cursor","aria-hidden":"true",children:"▍"})]}),o(Ot,{items:d.citations,prefix:"run-cite"}),o("p",{class:"muted",role:"status",children:[d.status==="RUNNING"?"Running…":d.status.toLowerCase(),d.error?`: ${d.error}`:""]}),d.status==="RUNNING"&&o("button",{type:"button",onClick:H,disabled:!d.runId,children:"Cancel"})]}),o(Q,{error:p}),o("form",{class:"row",onSubmit:K,children:[o("textarea",{"aria-label":"Message to the agent",rows:2,required:!0,value:s,onInput:g=>c(g.currentTarget.value),onKeyDown:g=>{g.key==="Enter"&&!g.shiftKey&&K(g)}}),o("button",{type:"submit",disabled:d?.status==="RUNNING",children:"Send"})]})]})]})]})}const Do=C("query Sessions { sessions { id createdAt lastUsedAt expiresAt ip userAgent current } }"),To=C("mutation RevokeSession($id: ID!) { revokeSession(id: $id) }"),Eo=C("query ApiKeys { apiKeys { id name scopes createdAt lastUsedAt expiresAt revoked } me { permissions } }"),No=C(`
  mutation CreateApiKey($input: CreateApiKeyInput!) { createApiKey(input: $input) { key apiKey { id name } } }
`),Ro=C("mutation RevokeApiKey($id: ID!) { revokeApiKey(id: $id) }");function xo(){const[e,t]=$([]),[n,r]=$([]),[a,i]=$([]),[s,c]=$(""),[d,m]=$([]),[p,_]=$(null),[f,l]=$(!1),y=Z(),S=Z(),I=()=>y.run(async()=>t((await N(Do)).sessions)),w=()=>S.run(async()=>{const h=await N(Eo);r(h.apiKeys),i(h.me.permissions)});return ee(()=>{I(),w()},[]),o(te,{children:[o("h1",{children:"Account"}),o(re,{title:"Sessions",children:[o(Q,{error:y.error}),o("div",{class:"table-wrap",children:o("table",{children:[o("thead",{children:o("tr",{children:[o("th",{children:"Started"}),o("th",{children:"Last used"}),o("th",{children:"Client"}),o("th",{children:o("span",{class:"visually-hidden",children:"Actions"})})]})}),o("tbody",{children:e.map(h=>o("tr",{children:[o("td",{children:oe(h.createdAt)}),o("td",{children:oe(h.lastUsedAt)}),o("td",{children:[h.ip??""," ",h.userAgent?.slice(0,60)??"",h.current?" (this one)":""]}),o("td",{children:!h.current&&o("button",{type:"button","aria-label":`Revoke session started ${oe(h.createdAt)}`,onClick:()=>void y.run(async()=>{await N(To,{id:h.id}),await I()}),children:"Revoke"})})]}))})]})})]}),o(re,{title:"API keys",children:[o("form",{onSubmit:h=>{h.preventDefault(),S.run(async()=>{const v=await N(No,{input:{name:s,scopes:d}});_(v.createApiKey.key),l(!1),c(""),await w()})},children:[o("label",{children:["Key name",o("input",{required:!0,value:s,onInput:h=>c(h.currentTarget.value)})]}),o("fieldset",{children:[o("legend",{children:"Scopes"}),a.map(h=>o("label",{class:"inline",children:[o("input",{type:"checkbox",checked:d.includes(h),onChange:v=>m(v.currentTarget.checked?[...d,h]:d.filter(D=>D!==h))}),h]}))]}),o("button",{type:"submit",disabled:S.busy||!d.length,children:"Create key"})]}),p&&o("div",{class:"created",role:"status",children:[o("p",{children:"Your new key, shown only this once. Store it now:"}),o("code",{"aria-label":"New API key","data-testid":"new-key",children:p}),o("button",{type:"button",onClick:()=>void navigator.clipboard?.writeText(p).then(()=>l(!0),()=>l(!1)),children:f?"Copied":"Copy"}),o("button",{type:"button",onClick:()=>_(null),children:"Done"})]}),o(Q,{error:S.error}),o("div",{class:"table-wrap",children:o("table",{children:[o("thead",{children:o("tr",{children:[o("th",{children:"Name"}),o("th",{children:"Scopes"}),o("th",{children:"Created"}),o("th",{children:"Last used"}),o("th",{children:"State"}),o("th",{children:o("span",{class:"visually-hidden",children:"Actions"})})]})}),o("tbody",{children:n.map(h=>o("tr",{"data-key":h.name,children:[o("td",{children:h.name}),o("td",{children:h.scopes.join(", ")}),o("td",{children:oe(h.createdAt)}),o("td",{children:oe(h.lastUsedAt)}),o("td",{children:h.revoked?"revoked":"active"}),o("td",{children:!h.revoked&&o("button",{type:"button","aria-label":`Revoke key ${h.name}`,onClick:()=>void S.run(async()=>{await N(Ro,{id:h.id}),await w()}),children:"Revoke"})})]}))})]})})]})]})}const qo=C(`
  query Users($search: String, $after: String) {
    users(first: 50, search: $search, after: $after) { nodes { id username email role active createdAt } pageInfo { endCursor hasNextPage } }
  }
`),Uo=C("mutation SetUserRole($userId: ID!, $role: Role!) { setUserRole(userId: $userId, role: $role) { id role } }"),Lo=C("mutation SetUserActive($userId: ID!, $active: Boolean!) { setUserActive(userId: $userId, active: $active) { id active } }"),Po=C(`
  query AuditLog($filter: AuditFilter) {
    auditLog(filter: $filter, first: 50) { nodes { id at actor actorType action resource outcome ip requestId detail } }
  }
`),Oo=C(`
  subscription Health { health(intervalSeconds: 5) { status services { name status version latencyMs detail } } }
`),Mo=["ADMIN","USER","SERVICE_ACCOUNT","GUEST"];function Ko({me:e}){return o(te,{children:[o("h1",{children:"Admin"}),o(Ho,{}),e.permissions.includes("MANAGE_USERS")&&o(Fo,{me:e}),e.permissions.includes("READ_SYSTEM")&&o(Wo,{})]})}function Ho(){const[e,t]=$(null),[n,r]=$(null),[a,i]=$(null);return ee(()=>Ee(Oo,{},{next:s=>{t(s.health),r(new Date),i(null)},error:s=>i(s.message)}),[]),o(re,{title:"Service health",children:[o(Q,{error:a}),e&&o("p",{children:["System ",o("strong",{"data-health":e.status,children:e.status})," ",o("span",{class:"muted",children:["(refreshed ",n?.toLocaleTimeString(),", every 5 s)"]})]}),o("ul",{children:e?.services.map(s=>o("li",{class:s.status==="UP"?"":"error",children:[s.name,": ",s.status," ",s.version??""," ",s.latencyMs!=null?`${s.latencyMs.toFixed(1)} ms`:""," ",s.detail]}))})]})}function Fo({me:e}){const[t,n]=$([]),[r,a]=$(""),{error:i,run:s}=Z(),c=()=>s(async()=>n((await N(qo,{search:r||null})).users.nodes));return ee(()=>{c()},[]),o(re,{title:"Users",children:[o("form",{class:"row",onSubmit:d=>{d.preventDefault(),c()},children:[o("input",{"aria-label":"Search users",placeholder:"Search users",value:r,onInput:d=>a(d.currentTarget.value)}),o("button",{type:"submit",children:"Search"})]}),o(Q,{error:i}),o("div",{class:"table-wrap",children:o("table",{children:[o("thead",{children:o("tr",{children:[o("th",{children:"User"}),o("th",{children:"Role"}),o("th",{children:"Active"}),o("th",{children:"Created"})]})}),o("tbody",{children:t.map(d=>o("tr",{"data-user":d.username,children:[o("td",{children:[d.username,o("br",{}),o("span",{class:"muted",children:d.id})]}),o("td",{children:o("select",{"aria-label":`Role of ${d.username}`,value:d.role,disabled:d.id===e.id,onChange:m=>{const p=m.currentTarget.value;s(async()=>{await N(Uo,{userId:d.id,role:p}),await c()})},children:Mo.map(m=>o("option",{value:m,children:m}))})}),o("td",{children:o("input",{type:"checkbox","aria-label":`${d.username} active`,checked:d.active,disabled:d.id===e.id,onChange:m=>{const p=m.currentTarget.checked;s(async()=>{await N(Lo,{userId:d.id,active:p}),await c()})}})}),o("td",{children:oe(d.createdAt)})]}))})]})})]})}function Wo(){const[e,t]=$([]),[n,r]=$(""),[a,i]=$(""),[s,c]=$(""),{error:d,run:m}=Z(),p=()=>m(async()=>t((await N(Po,{filter:{actor:n||null,action:a||null,since:s?new Date(s).toISOString():null}})).auditLog.nodes));return ee(()=>{p()},[]),o(re,{title:"Audit log",children:[o("form",{class:"row",onSubmit:_=>{_.preventDefault(),p()},children:[o("input",{"aria-label":"Filter by actor",placeholder:"Actor",value:n,onInput:_=>r(_.currentTarget.value)}),o("input",{"aria-label":"Filter by action",placeholder:"Action",value:a,onInput:_=>i(_.currentTarget.value)}),o("input",{"aria-label":"Since",type:"datetime-local",value:s,onInput:_=>c(_.currentTarget.value)}),o("button",{type:"submit",children:"Filter"})]}),o(Q,{error:d}),o("div",{class:"table-wrap",children:o("table",{children:[o("thead",{children:o("tr",{children:[o("th",{children:"When"}),o("th",{children:"Actor"}),o("th",{children:"Action"}),o("th",{children:"Resource"}),o("th",{children:"Outcome"}),o("th",{children:"Detail"})]})}),o("tbody",{children:e.map(_=>o("tr",{"data-action":_.action,children:[o("td",{children:oe(_.at)}),o("td",{children:_.actor??_.actorType}),o("td",{children:_.action}),o("td",{children:_.resource??""}),o("td",{children:_.outcome}),o("td",{children:o("code",{children:JSON.stringify(_.detail)})})]}))})]})})]})}const jo=C("query Me { me { id username email role permissions } }"),Pe=[{path:"documents",label:"Documents"},{path:"ask",label:"Ask"},{path:"agent",label:"Agent"},{path:"account",label:"Account"},{path:"admin",label:"Admin",admin:!0}];function ft(){return location.hash.replace(/^#\/?/,"").split("?")[0]||"documents"}function Bo(){const[e,t]=$(ft()),[n,r]=$(null),[a,i]=$(!1);if(ee(()=>{const c=()=>t(ft());window.addEventListener("hashchange",c);const d=Le.onChange(m=>{m?N(jo).then(p=>r(p.me)).catch(()=>Re()):r(null)});return xe().finally(()=>i(!0)),()=>{window.removeEventListener("hashchange",c),d()}},[]),ee(()=>{document.title=`${Pe.find(c=>c.path===e)?.label??"Sign in"} · AgentHub`},[e]),!a||Le.signedIn&&!n)return o("p",{class:"muted",role:"status",children:"Loading…"});if(!Le.signedIn||!n)return o(to,{});const s=n.permissions.includes("MANAGE_USERS")||n.permissions.includes("READ_SYSTEM");return o(te,{children:[o("header",{children:[o("strong",{class:"brand",children:"AgentHub"}),o("nav",{"aria-label":"Main",children:Pe.filter(c=>!("admin"in c)||s).map(c=>o("a",{href:`#/${c.path}`,"aria-current":e===c.path?"page":void 0,children:c.label}))}),o("span",{class:"who","aria-label":"Signed in as",children:[n.username," (",n.role.toLowerCase(),")"]}),o("button",{type:"button",onClick:()=>void zn(),children:"Sign out"})]}),o("main",{children:[e==="documents"&&o(ho,{}),e==="ask"&&o(yo,{}),e==="agent"&&o(Co,{}),e==="account"&&o(xo,{}),e==="admin"&&(s?o(Ko,{me:n}):o("p",{role:"alert",children:"Administrators only."})),!Pe.some(c=>c.path===e)&&o("p",{children:["No such page. ",o("a",{href:"#/documents",children:"Documents"})]})]})]})}Vt(o(Bo,{}),document.getElementById("app"));window.__consoleRendered=performance.now();
